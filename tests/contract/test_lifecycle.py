"""Every lifecycle transition on every adapter: applied from its precondition, refused
otherwise, leaving the refused workflow as it was (the cases: tests/lifecycle_cases.py)."""

from __future__ import annotations

import pytest

from shared.domain.lifecycle import transitions as lc
from shared.ports import Release
from tests.contract.conftest import Repos
from tests.contract.helpers import at, claim, manual, periodic
from tests.lifecycle_cases import CASES, ID, Case


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_the_transition_applies_from_its_precondition(repos: Repos, case: Case) -> None:
    await repos.workflows.create(case.before)

    assert await repos.workflows.apply(case.transition, ID, case.params)

    assert await repos.workflows.get(ID) == case.after


@pytest.mark.parametrize("case", [c for c in CASES if c.refused], ids=lambda c: c.id)
async def test_the_transition_is_refused_elsewhere(repos: Repos, case: Case) -> None:
    for n, refused in enumerate(case.refused):
        workflow = refused.model_copy(update={"workflow_id": f"r{n}"})
        await repos.workflows.create(workflow)

        assert not await repos.workflows.apply(case.transition, f"r{n}", case.params), refused
        assert await repos.workflows.get(f"r{n}") == workflow
    assert not await repos.workflows.apply(case.transition, "unknown", case.params)


async def test_a_paused_workflow_is_not_dispatched_until_resumed(repos: Repos) -> None:
    await repos.workflows.create(periodic("p", at(10)))
    await repos.workflows.create(manual("m"))
    for workflow_id in ("p", "m"):
        assert await repos.workflows.apply(lc.PAUSE, workflow_id, {"now": at(1)})

    assert await repos.workflows.find_due(at(100), after=None, limit=10) == []
    assert not await repos.workflows.claim_for_trigger(claim("m", "e1"))
    assert not await repos.workflows.claim_for_trigger(claim("m", "e1", rate_limit=5))

    assert await repos.workflows.apply(lc.RESUME, "p", {"next_run": at(50)})
    assert await repos.workflows.apply(lc.RESUME, "m", {"next_run": None})
    [due] = await repos.workflows.find_due(at(100), after=None, limit=10)
    assert (due.workflow_id, due.next_run) == ("p", at(50))
    assert await repos.workflows.claim_for_trigger(claim("m", "e1"))


async def test_undo_in_a_later_window_restores_idle_and_keeps_the_count(repos: Repos) -> None:
    await repos.workflows.create(manual("u"))
    assert await repos.workflows.claim_for_trigger(claim("u", "e1", window_start=at(0),
                                                         rate_limit=2))

    assert await repos.workflows.undo_trigger_claim(claim("u", "e1", window_start=at(60),
                                                          rate_limit=2))

    stored = await repos.workflows.get("u")
    assert stored is not None and stored.rate is not None
    assert (stored.status, stored.trigger.execution_id) == (lc.ACTIVE, None)
    assert (stored.rate.window_start, stored.rate.count) == (at(0), 1)


async def test_a_waiting_execution_wakes_into_a_run(repos: Repos) -> None:
    await repos.workflows.create(manual("w"))
    assert await repos.workflows.claim_for_trigger(claim("w", "e1"))
    assert await repos.workflows.lock("w", token="t1", lease_until=at(60)) is not None

    assert await repos.workflows.apply(lc.WAIT, "w", {"token": "t1", "wake_at": at(30)})
    assert not await repos.workflows.claim_for_trigger(claim("w", "e2"))  # busy meanwhile
    # Woken by the wake path (its execution kept), never dispatched as a fresh run.
    assert await repos.workflows.find_due(at(30), after=None, limit=10) == []
    assert await repos.workflows.find_waking(at(29), after=None, limit=10) == []
    [due] = await repos.workflows.find_waking(at(30), after=None, limit=10)
    assert (due.trigger_status, due.execution_id) == (lc.WAITING, "e1")

    assert await repos.workflows.wake("w", execution_id="e1", now=at(31), next_run=None)
    assert not await repos.workflows.wake("w", execution_id="e1", now=at(31), next_run=None)
    assert await repos.workflows.lock("w", token="t2", lease_until=at(90)) is not None
    assert await repos.workflows.release(Release("w", "t2", None, None, None))
    stored = await repos.workflows.get("w")
    assert stored is not None
    assert (stored.status, stored.trigger.status, stored.trigger.execution_id) == (
        lc.ACTIVE, None, None
    )


async def test_a_paused_waiting_execution_wakes_after_resume(repos: Repos) -> None:
    await repos.workflows.create(manual("pw"))
    assert await repos.workflows.claim_for_trigger(claim("pw", "e1"))
    assert await repos.workflows.lock("pw", token="t1", lease_until=at(60)) is not None
    assert await repos.workflows.apply(lc.WAIT, "pw", {"token": "t1", "wake_at": None})
    assert await repos.workflows.apply(lc.PAUSE, "pw", {"now": at(2)})

    # A signal while paused: the wake is refused, its wake time set to now instead.
    assert not await repos.workflows.wake("pw", execution_id="e1", now=at(5), next_run=None)
    assert await repos.workflows.apply(lc.WAKE_ON_RESUME, "pw", {"execution_id": "e1",
                                                                 "now": at(5)})
    assert await repos.workflows.find_waking(at(10), after=None, limit=10) == []

    assert not await repos.workflows.apply(lc.RESUME, "pw", {"next_run": None})
    assert await repos.workflows.apply(lc.RESUME_IN_PROGRESS, "pw", {})
    [due] = await repos.workflows.find_waking(at(10), after=None, limit=10)
    assert (due.workflow_id, due.execution_id, due.next_run) == ("pw", "e1", at(5))
    assert await repos.workflows.wake("pw", execution_id="e1", now=at(10), next_run=None)
