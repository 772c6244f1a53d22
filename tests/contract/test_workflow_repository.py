"""WorkflowRepository contract: storage, manual-trigger claims and archiving."""

from __future__ import annotations

import pytest

from shared.errors import Conflict
from shared.models import Lock, RateWindow, TriggerStatus, Workflow, WorkflowStatus
from shared.ports import Release
from tests.contract.conftest import Repos
from tests.contract.helpers import (
    T0,
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
