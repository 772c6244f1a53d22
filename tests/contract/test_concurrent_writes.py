"""Repository contract: concurrent inserts, trigger claims, locks and releases (which the
MongoDB adapters send as one command per batch, `shared.adapters.coalesce`) each get the
answer they would alone."""

from __future__ import annotations

import asyncio

from shared.domain.models import (
    Execution,
    ExecutionStatus,
    RateWindow,
    TriggerStatus,
    WorkflowStatus,
)
from shared.ports import Release
from tests.contract.conftest import Repos
from tests.contract.helpers import at, claim, manual, periodic

NOW = at(100)
CALLS = 40


def _execution(execution_id: str) -> Execution:
    return Execution(id=execution_id, workflow_id="w", created_at=at(0), retries=4,
                     total_actions=1, status=ExecutionStatus.OK, finished_at=at(1))


async def test_concurrent_inserts_each_store_once_and_a_stored_id_is_refused(
    repos: Repos,
) -> None:
    assert await repos.executions.insert(_execution("e-taken"))
    ids = [f"e{i}" for i in range(CALLS)] + ["e-taken", "e3"]

    stored = await asyncio.gather(*(repos.executions.insert(_execution(i)) for i in ids))

    # One of the two concurrent inserts of e3 wins; the stored id is refused.
    assert stored[:3] + stored[4:CALLS] == [True] * (CALLS - 1)
    assert stored[CALLS] is False
    assert sorted([stored[3], stored[CALLS + 1]]) == [False, True]
    for execution_id in ids:
        assert await repos.executions.get(execution_id) == _execution(execution_id)


async def test_concurrent_trigger_claims_each_get_the_answer_they_would_alone(
    repos: Repos,
) -> None:
    window, next_window = at(60), at(120)
    for i in range(CALLS):
        await repos.workflows.create(manual(f"m{i}"))
    full = RateWindow(window_start=window, count=2)
    await repos.workflows.create(manual("full", rate=full))
    await repos.workflows.create(manual("old-window", rate=full))
    await repos.workflows.create(manual("busy", trigger_status=TriggerStatus.BUSY))
    await repos.workflows.create(periodic("p", at(10)))
    claims = [claim(f"m{i}", f"e{i}", now=at(61), window_start=window, rate_limit=2)
              for i in range(CALLS)]
    claims += [
        claim("m1", "e1-again", now=at(61), window_start=window, rate_limit=2),
        claim("full", "e-full", now=at(61), window_start=window, rate_limit=2),
        claim("old-window", "e-new", now=at(121), window_start=next_window, rate_limit=2),
        claim("busy", "e-busy", now=at(61), window_start=window, rate_limit=2),
        claim("p", "e-p", now=at(61), window_start=window, rate_limit=2),
        claim("missing", "e-missing", now=at(61), window_start=window, rate_limit=2),
    ]

    won = await asyncio.gather(*(repos.workflows.claim_for_trigger(c) for c in claims))

    # One of the two claims of m1 wins; a full window refuses, a new one opens.
    assert won[:1] + won[2:CALLS] == [True] * (CALLS - 1)
    assert sorted([won[1], won[CALLS]]) == [False, True]
    assert won[CALLS + 1:] == [False, True, False, False, False]
    for c, claimed in zip(claims, won, strict=True):
        stored = await repos.workflows.get(c.workflow_id)
        if claimed:
            assert stored is not None and stored.status == WorkflowStatus.SCHEDULED
            assert stored.trigger.execution_id == c.execution_id
            assert stored.scheduled_at == c.now
    stored_full = await repos.workflows.get("full")
    assert stored_full is not None and stored_full.rate == full
    assert stored_full.status == WorkflowStatus.ACTIVE
    reopened = await repos.workflows.get("old-window")
    assert reopened is not None and reopened.rate == RateWindow(window_start=next_window, count=1)
    counted = await repos.workflows.get("m7")
    assert counted is not None and counted.rate == RateWindow(window_start=window, count=1)


async def _locked(repos: Repos, count: int) -> list[str]:
    """`count` periodic workflows dispatched and locked, workflow `wf<i>` by token `t<i>`."""
    for i in range(count):
        await repos.workflows.create(periodic(f"wf{i}", at(10)))
    due = await repos.workflows.find_due(NOW, after=None, limit=count)
    for one in due:
        assert await repos.workflows.claim_due(one, now=NOW, execution_id=f"x-{one.workflow_id}",
                                               next_run=at(110))
        token = "t" + one.workflow_id.removeprefix("wf")
        assert await repos.workflows.lock(one.workflow_id, token=token, lease_until=at(160))
    return [one.workflow_id for one in due]


async def test_concurrent_locks_each_win_once_and_return_the_locked_workflow(
    repos: Repos,
) -> None:
    for i in range(CALLS):
        await repos.workflows.create(periodic(f"wf{i}", at(10)))
    for one in await repos.workflows.find_due(NOW, after=None, limit=CALLS):
        if one.workflow_id == f"wf{CALLS - 1}":
            continue
        assert await repos.workflows.claim_due(one, now=NOW, execution_id=f"x-{one.workflow_id}",
                                               next_run=at(110))
    # Every workflow locked at once by its own token, wf1 twice, the last not dispatched.
    calls = [(f"wf{i}", f"t{i}") for i in range(CALLS)] + [("wf1", "t1-again")]

    locked = await asyncio.gather(*(
        repos.workflows.lock(wid, token=token, lease_until=at(160 + i))
        for i, (wid, token) in enumerate(calls)
    ))

    assert locked[CALLS - 1] is None
    assert (locked[1] is None) != (locked[CALLS] is None)
    for i, ((wid, token), workflow) in enumerate(zip(calls, locked, strict=True)):
        if workflow is None:
            continue
        assert workflow.workflow_id == wid and workflow.status == WorkflowStatus.LOCKED
        assert (workflow.lock.token, workflow.lock.expires_at) == (token, at(160 + i))
        assert workflow.trigger.execution_id == f"x-{wid}"
        assert await repos.workflows.get(wid) == workflow
    assert sum(workflow is not None for workflow in locked) == CALLS - 1


async def test_concurrent_releases_each_need_their_own_token(repos: Repos) -> None:
    workflow_ids = await _locked(repos, CALLS)
    # wf0's release names another token; wf1 is released twice at once (one of them holds).
    releases = [
        Release(wid, "wrong" if wid == "wf0" else "t" + wid.removeprefix("wf"),
                TriggerStatus.PENDING, at(104), f"x-{wid}")
        for wid in workflow_ids
    ]
    twice = Release("wf1", "t1", None, None, None)

    held = await asyncio.gather(*(repos.workflows.release(r) for r in [*releases, twice]))

    by_id = dict(zip(workflow_ids, held, strict=False))
    assert by_id.pop("wf0") is False
    assert sorted([by_id.pop("wf1"), held[-1]]) == [False, True]
    assert set(by_id.values()) == {True}
    for wid in workflow_ids:
        stored = await repos.workflows.get(wid)
        assert stored is not None
        if wid == "wf0":
            assert stored.status == WorkflowStatus.LOCKED and stored.lock is not None
            continue
        assert stored.status == WorkflowStatus.ACTIVE and stored.lock is None
        if wid != "wf1":
            assert (stored.trigger.status, stored.trigger.next_run) == (
                TriggerStatus.PENDING, at(104)
            )
