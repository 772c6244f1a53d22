"""WorkflowRepository contract: archiving, and what it leaves to settle (issue 13 #2, #3)."""

from __future__ import annotations

from shared.domain.models import TriggerStatus, WorkflowStatus
from shared.ports import Release
from tests.contract.conftest import Repos
from tests.contract.helpers import T0, assert_utc_ms, at, back_to_idle, claim, manual, periodic


async def test_archive_unknown_false_twice_true_and_first_time_kept(repos: Repos) -> None:
    await repos.workflows.create(periodic("p", at(50)))

    assert not await repos.workflows.archive("unknown", at(1))
    assert await repos.workflows.archive("p", at(1))
    assert await repos.workflows.archive("p", at(2))

    stored = await repos.workflows.get("p")
    assert stored is not None
    assert stored.archived_at == at(1)
    assert stored.trigger.next_run is None
    assert_utc_ms(stored.archived_at)
    assert T0 == stored.created_at


async def test_archive_drops_a_waiting_dispatch_but_leaves_a_running_one(repos: Repos) -> None:
    await repos.workflows.create(manual("queued"))
    await repos.workflows.create(manual("running"))
    assert await repos.workflows.claim_for_trigger(claim("queued", "e1", now=at(1)))
    assert await repos.workflows.claim_for_trigger(claim("running", "e2"))
    assert await repos.workflows.lock("running", token="tok", lease_until=at(60))

    queued = await repos.workflows.archive("queued", at(2))
    running = await repos.workflows.archive("running", at(2))

    assert queued is not None and running is not None
    assert queued == await repos.workflows.get("queued")
    assert running == await repos.workflows.get("running")
    # Idle, but still naming the execution it stopped (issue 13 #3: it is to be settled).
    assert (queued.status, queued.trigger.status, queued.trigger.execution_id) == (
        WorkflowStatus.ACTIVE, None, "e1"
    )
    assert (queued.archived_at, queued.scheduled_at) == (at(2), at(1))
    assert running.status == WorkflowStatus.LOCKED
    assert running.trigger.execution_id == "e2"
    assert await repos.workflows.lock("queued", token="t2", lease_until=at(60)) is None
    assert await repos.workflows.find_stuck_scheduled(at(100), limit=10) == []
    assert await repos.workflows.find_due(at(100), after=None, limit=10) == []


async def test_archived_unsettled_are_found_until_cleared_and_never_while_locked(
    repos: Repos,
) -> None:
    """Issue 13 #2/#3: what archiving stopped stays findable until its execution is settled."""
    for workflow_id in ("queued", "running", "retrying", "idle", "live"):
        await repos.workflows.create(manual(workflow_id))
    assert await repos.workflows.claim_for_trigger(claim("queued", "e-q"))
    assert await repos.workflows.claim_for_trigger(claim("running", "e-r"))
    assert await repos.workflows.claim_for_trigger(claim("retrying", "e-p"))
    assert await repos.workflows.claim_for_trigger(claim("live", "e-l"))
    assert await repos.workflows.lock("running", token="tok", lease_until=at(60))
    await back_to_idle(repos.workflows, "retrying", trigger_status=TriggerStatus.PENDING,
                       next_run=at(9), execution_id="e-p")
    for workflow_id in ("queued", "running", "retrying", "idle"):
        assert await repos.workflows.archive(workflow_id, at(1))

    found = await repos.workflows.find_archived_unsettled(limit=10)

    assert [(w.workflow_id, w.trigger.execution_id) for w in found] == [
        ("queued", "e-q"), ("retrying", "e-p")
    ]
    retrying = found[1]
    assert (retrying.status, retrying.trigger.status, retrying.trigger.next_run) == (
        WorkflowStatus.ACTIVE, None, None
    )
    assert [w.workflow_id for w in await repos.workflows.find_archived_unsettled(limit=1)] == [
        "queued"
    ]
    assert not await repos.workflows.clear_archived_execution("queued", "e-other")
    assert not await repos.workflows.clear_archived_execution("running", "e-r")  # locked
    assert not await repos.workflows.clear_archived_execution("live", "e-l")  # not archived
    assert await repos.workflows.clear_archived_execution("queued", "e-q")
    assert not await repos.workflows.clear_archived_execution("queued", "e-q")

    cleared = await repos.workflows.get("queued")
    assert cleared is not None
    assert (cleared.status, cleared.scheduled_at, cleared.trigger.execution_id) == (
        WorkflowStatus.ACTIVE, None, None
    )
    assert [w.workflow_id for w in await repos.workflows.find_archived_unsettled(limit=10)] == [
        "retrying"
    ]


async def test_a_run_archived_while_locked_is_unsettled_once_released_pending(
    repos: Repos,
) -> None:
    """Issue 13 #2: the runner releases into a retry that no scheduler will dispatch."""
    await repos.workflows.create(manual("wf"))
    assert await repos.workflows.claim_for_trigger(claim("wf", "e1"))
    assert await repos.workflows.lock("wf", token="tok", lease_until=at(60))
    assert await repos.workflows.archive("wf", at(1))
    assert await repos.workflows.find_archived_unsettled(limit=10) == []

    assert await repos.workflows.release(Release("wf", "tok", TriggerStatus.PENDING, at(5), "e1"))

    (found,) = await repos.workflows.find_archived_unsettled(limit=10)
    assert (found.workflow_id, found.trigger.execution_id) == ("wf", "e1")
    assert await repos.workflows.find_due(at(100), after=None, limit=10) == []
    assert await repos.workflows.clear_archived_execution("wf", "e1")
    stored = await repos.workflows.get("wf")
    assert stored is not None
    assert (stored.trigger.status, stored.trigger.next_run, stored.trigger.execution_id) == (
        None, None, None
    )
