"""Attempts interrupted by infrastructure errors or lost runners are capped (issue 13 #13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.models import ExecutionStatus, WorkflowStatus
from tests.fakes import Harness, ScriptedActionRunner, manual_workflow


@pytest.fixture
def h() -> Harness:
    return Harness()


async def test_a_persistent_fault_fails_the_execution_after_max_interrupted_attempts(
    h: Harness,
) -> None:
    """Issue 13 #13: an attempt interrupted every time was retried forever, for free."""
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    actions = ScriptedActionRunner(script={1: ["raise"] * 10})
    worker = h.worker(actions)  # MAX_INTERRUPTED_ATTEMPTS' default: 10

    outcomes = []
    for _ in range(11):
        outcomes.append(await worker.run(request))
        h.clock.advance(3600)
        (request,) = await h.dispatch_due() or [request]

    assert outcomes[:10] == [None] * 10
    final = outcomes[10]
    assert final is not None and final.status == ExecutionStatus.FAILED
    assert final.reason and "10 interrupted attempts" in final.reason
    assert final.finished_at is not None and final.retries == 0
    assert actions.ran == [1] * 10  # not run again once given up
    stored = await h.executions.get(final.id)
    assert stored is not None and (stored.status, stored.reason) == (final.status, final.reason)
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert (wf.status, wf.trigger.status, wf.trigger.execution_id) == (
        WorkflowStatus.ACTIVE, None, None
    )
    assert wf.trigger.interrupted_attempts == 0


async def test_lost_runners_count_as_interrupted_attempts(h: Harness) -> None:
    """Issue 13 #13: a runner that dies (lease expired, recovered) interrupts an attempt too."""
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    actions = ScriptedActionRunner()
    worker = h.worker(actions, max_interrupted_attempts=2)
    for dead in ("dead-1", "dead-2"):
        lease_until = h.clock.now() + timedelta(seconds=h.lease_s)
        assert await h.workflows.lock("wf", token=dead, lease_until=lease_until) is not None
        h.clock.advance(h.lease_s)
        assert (await h.scheduler().run_once()).recovered == 1

    given_up = await worker.run(request)

    assert given_up is not None and given_up.status == ExecutionStatus.FAILED
    assert given_up.reason and "2 interrupted attempts" in given_up.reason
    assert actions.ran == []
    fresh = await worker.run(await h.trigger("wf"))
    assert fresh is not None and fresh.status == ExecutionStatus.OK
