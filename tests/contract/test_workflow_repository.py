"""WorkflowRepository contract: storage and manual-trigger claims (archiving: test_archive.py)."""

from __future__ import annotations

import pytest

from shared.domain.errors import Conflict
from shared.domain.models import Lock, RateWindow, TriggerStatus, Workflow, WorkflowStatus
from tests.contract.conftest import Repos
from tests.contract.helpers import (
    assert_utc_ms,
    at,
    back_to_idle,
    claim,
    manual,
    periodic,
)


async def test_create_then_get_round_trips_every_field(repos: Repos) -> None:
    workflow = periodic(
        "full",
        at(10.5),
        trigger_status=TriggerStatus.PENDING,
        status=WorkflowStatus.LOCKED,
        scheduled_at=at(1),
        lock=Lock(token="t", expires_at=at(2)),
        rate=RateWindow(window_start=at(-30), count=3),
    )
    workflow.trigger.execution_id = "exec-9"
    await repos.workflows.create(workflow)

    stored = await repos.workflows.get("full")

    assert stored == workflow
    assert stored is not None and stored.lock is not None and stored.rate is not None
    assert_utc_ms(
        stored.created_at,
        stored.trigger.next_run,
        stored.scheduled_at,
        stored.lock.expires_at,
        stored.rate.window_start,
    )


async def test_create_duplicate_id_conflicts_and_keeps_the_first(repos: Repos) -> None:
    await repos.workflows.create(manual("dup"))
    with pytest.raises(Conflict):
        await repos.workflows.create(periodic("dup", at(5)))

    stored = await repos.workflows.get("dup")
    assert stored is not None and stored.trigger.type.value == "manual"


async def test_get_unknown_is_none(repos: Repos) -> None:
    assert await repos.workflows.get("nope") is None


async def test_list_after_orders_by_id_and_pages(repos: Repos) -> None:
    for workflow_id in ["c", "a", "d", "b", "e"]:
        await repos.workflows.create(manual(workflow_id))

    first = await repos.workflows.list_after(after_id=None, limit=2)
    second = await repos.workflows.list_after(after_id=first[-1].workflow_id, limit=2)
    third = await repos.workflows.list_after(after_id=second[-1].workflow_id, limit=2)
    rest = await repos.workflows.list_after(after_id="e", limit=2)

    assert [w.workflow_id for w in first + second + third] == ["a", "b", "c", "d", "e"]
    assert rest == []
    assert first[0].actions == manual("a").actions


async def test_claim_for_trigger_dispatches_an_idle_manual_workflow_once(repos: Repos) -> None:
    await repos.workflows.create(manual("m"))

    assert await repos.workflows.claim_for_trigger(claim("m", "exec-1", now=at(3)))
    assert not await repos.workflows.claim_for_trigger(claim("m", "exec-2", now=at(4)))

    stored = await repos.workflows.get("m")
    assert stored is not None
    assert stored.status == WorkflowStatus.SCHEDULED
    assert stored.trigger.status == TriggerStatus.BUSY
    assert stored.trigger.execution_id == "exec-1"
    assert stored.scheduled_at == at(3)
    assert_utc_ms(stored.scheduled_at)


@pytest.mark.parametrize(
    "workflow",
    [
        periodic("w", at(100)),
        manual("w", trigger_status=TriggerStatus.BUSY),
        manual("w", trigger_status=TriggerStatus.PENDING),
        manual("w", status=WorkflowStatus.SCHEDULED),
        manual("w", status=WorkflowStatus.LOCKED),
        manual("w", archived_at=at(-1)),
    ],
    ids=["periodic", "busy", "pending", "scheduled", "locked", "archived"],
)
async def test_claim_for_trigger_refuses_workflows_that_are_not_idle_manual(
    repos: Repos, workflow: Workflow
) -> None:
    await repos.workflows.create(workflow)

    assert not await repos.workflows.claim_for_trigger(claim("w"))
    assert not await repos.workflows.claim_for_trigger(claim("unknown"))
    assert await repos.workflows.get("w") == workflow


async def test_rate_limit_counts_per_window_then_refuses(repos: Repos) -> None:
    await repos.workflows.create(manual("r"))
    window = at(0)
    for n in range(3):
        assert await repos.workflows.claim_for_trigger(
            claim("r", f"e{n}", window_start=window, rate_limit=3)
        ), n
        await back_to_idle(repos.workflows, "r")

    assert not await repos.workflows.claim_for_trigger(
        claim("r", "e3", window_start=window, rate_limit=3)
    )
    stored = await repos.workflows.get("r")
    assert stored is not None and stored.status == WorkflowStatus.ACTIVE
    assert stored.trigger.status is None

    next_window = at(60)
    assert await repos.workflows.claim_for_trigger(
        claim("r", "e4", window_start=next_window, rate_limit=3)
    )
    stored = await repos.workflows.get("r")
    assert stored is not None and stored.rate == RateWindow(window_start=next_window, count=1)


async def test_rate_limit_zero_disables_the_limit(repos: Repos) -> None:
    await repos.workflows.create(manual("z"))
    for n in range(5):
        assert await repos.workflows.claim_for_trigger(claim("z", f"e{n}", rate_limit=0)), n
        await back_to_idle(repos.workflows, "z")


async def test_undo_trigger_claim_restores_idle_and_gives_back_the_count(repos: Repos) -> None:
    await repos.workflows.create(manual("u"))
    first = claim("u", "e1", now=at(1), rate_limit=1)
    assert await repos.workflows.claim_for_trigger(first)

    assert not await repos.workflows.undo_trigger_claim(claim("u", "other", rate_limit=1))
    assert await repos.workflows.undo_trigger_claim(first)

    stored = await repos.workflows.get("u")
    assert stored is not None
    assert stored.status == WorkflowStatus.ACTIVE
    assert stored.trigger.status is None and stored.trigger.execution_id is None
    assert stored.scheduled_at is None
    # The single allowed trigger of this window was given back: a new claim fits.
    assert await repos.workflows.claim_for_trigger(claim("u", "e2", now=at(2), rate_limit=1))
    assert not await repos.workflows.undo_trigger_claim(claim("unknown", "e2"))
