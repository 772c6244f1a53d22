"""WorkflowRepository contract: the scheduler's and the runner's state transitions."""

from __future__ import annotations

from dataclasses import replace

from shared.domain.models import Lock, TriggerStatus, WorkflowStatus
from shared.domain.schedules import PeriodicSchedule
from shared.ports import DueWorkflow, Release
from tests.contract.conftest import Repos
from tests.contract.helpers import T0, assert_utc_ms, at, back_to_idle, claim, manual, periodic

NOW = at(100)


async def _seed_due(repos: Repos) -> None:
    for workflow in [
        periodic("b", at(50)),
        periodic("a", at(50)),
        periodic("c", at(10), trigger_status=TriggerStatus.PENDING),
        periodic("now", NOW),
        periodic("future", at(101)),
        periodic("busy", at(20), status=WorkflowStatus.SCHEDULED),
        periodic("locked", at(20), status=WorkflowStatus.LOCKED),
        periodic("archived", at(20), archived_at=at(5)),
        manual("idle"),
    ]:
        await repos.workflows.create(workflow)


async def test_find_due_orders_by_next_run_then_id_and_skips_the_rest(repos: Repos) -> None:
    await _seed_due(repos)

    due = await repos.workflows.find_due(NOW, after=None, limit=100)

    assert [d.workflow_id for d in due] == ["c", "a", "b", "now"]
    c = due[0]
    assert c == DueWorkflow(
        workflow_id="c",
        next_run=at(10),
        trigger_status=TriggerStatus.PENDING,
        execution_id=None,
        schedule=PeriodicSchedule(interval_ms=10_000),
        created_at=T0,
        scheduled_at=None,
        lock_token=None,
    )
    for d in due:
        assert_utc_ms(d.next_run, d.created_at)


async def test_find_due_pages_with_after(repos: Repos) -> None:
    await _seed_due(repos)
    pages: list[list[str]] = []
    after = None
    while True:
        page = await repos.workflows.find_due(NOW, after=after, limit=2)
        if not page:
            break
        pages.append([d.workflow_id for d in page])
        after = page[-1]

    assert pages == [["c", "a"], ["b", "now"]]


async def test_claim_due_succeeds_once_for_what_was_observed(repos: Repos) -> None:
    await repos.workflows.create(periodic("p", at(10)))
    [observed] = await repos.workflows.find_due(NOW, after=None, limit=10)

    assert await repos.workflows.claim_due(observed, now=NOW, execution_id="x1", next_run=at(110))
    assert not await repos.workflows.claim_due(
        observed, now=NOW, execution_id="x2", next_run=at(110)
    )

    stored = await repos.workflows.get("p")
    assert stored is not None
    assert stored.status == WorkflowStatus.SCHEDULED
    assert stored.scheduled_at == NOW
    assert stored.trigger.status == TriggerStatus.BUSY
    assert stored.trigger.execution_id == "x1"
    assert stored.trigger.next_run == at(110)
    assert await repos.workflows.find_due(at(1000), after=None, limit=10) == []


async def test_claim_due_fails_when_next_run_changed_since_observed(repos: Repos) -> None:
    await repos.workflows.create(periodic("p", at(10)))
    [observed] = await repos.workflows.find_due(NOW, after=None, limit=10)
    # Another scheduler dispatched it and a runner released it with a new next_run.
    assert await repos.workflows.claim_due(observed, now=NOW, execution_id="x1", next_run=at(20))
    await back_to_idle(repos.workflows, "p", next_run=at(20))

    assert not await repos.workflows.claim_due(
        observed, now=NOW, execution_id="x2", next_run=at(110)
    )
    stored = await repos.workflows.get("p")
    assert stored is not None and stored.status == WorkflowStatus.ACTIVE


async def test_claim_due_fails_when_trigger_status_changed_since_observed(
    repos: Repos,
) -> None:
    await repos.workflows.create(periodic("p", at(10)))
    [observed] = await repos.workflows.find_due(NOW, after=None, limit=10)
    assert await repos.workflows.claim_due(observed, now=NOW, execution_id="x1", next_run=at(10))
    # Released to wait for a retry: same next_run, but now `pending`.
    await back_to_idle(
        repos.workflows,
        "p",
        trigger_status=TriggerStatus.PENDING,
        next_run=at(10),
        execution_id="x1",
    )

    assert not await repos.workflows.claim_due(
        observed, now=NOW, execution_id="x2", next_run=at(110)
    )
    [fresh] = await repos.workflows.find_due(NOW, after=None, limit=10)
    assert fresh.trigger_status == TriggerStatus.PENDING and fresh.execution_id == "x1"
    assert await repos.workflows.claim_due(fresh, now=NOW, execution_id="x1", next_run=None)


async def test_stuck_scheduled_found_and_refreshed_by_compare_and_set(repos: Repos) -> None:
    await repos.workflows.create(manual("s"))
    await repos.workflows.create(manual("idle"))
    await repos.workflows.create(
        manual("gone", status=WorkflowStatus.SCHEDULED, scheduled_at=at(0), archived_at=at(1))
    )
    assert await repos.workflows.claim_for_trigger(claim("s", "e1", now=at(10)))

    assert await repos.workflows.find_stuck_scheduled(at(9), limit=10) == []
    [stuck] = await repos.workflows.find_stuck_scheduled(at(10), limit=10)
    assert stuck.workflow_id == "s" and stuck.scheduled_at == at(10)
    assert stuck.execution_id == "e1" and stuck.trigger_status == TriggerStatus.BUSY

    assert await repos.workflows.refresh_scheduled(stuck, now=at(40))
    assert not await repos.workflows.refresh_scheduled(stuck, now=at(41))

    stored = await repos.workflows.get("s")
    assert stored is not None
    assert stored.status == WorkflowStatus.SCHEDULED and stored.scheduled_at == at(40)
    assert await repos.workflows.find_stuck_scheduled(at(39), limit=10) == []


async def test_expired_locks_found_and_recovered_by_token(repos: Repos) -> None:
    await repos.workflows.create(manual("l"))
    await repos.workflows.create(manual("idle"))
    assert await repos.workflows.claim_for_trigger(claim("l", "e1", now=at(0)))
    assert await repos.workflows.lock("l", token="tok-1", lease_until=at(30)) is not None

    assert await repos.workflows.find_expired_locks(at(29), limit=10) == []
    [expired] = await repos.workflows.find_expired_locks(at(30), limit=10)
    assert expired.workflow_id == "l" and expired.lock_token == "tok-1"

    other = replace(expired, lock_token="tok-other")
    assert not await repos.workflows.recover_lock(other, now=at(31))
    assert await repos.workflows.recover_lock(expired, now=at(31))
    assert not await repos.workflows.recover_lock(expired, now=at(32))

    stored = await repos.workflows.get("l")
    assert stored is not None
    assert stored.status == WorkflowStatus.SCHEDULED
    assert stored.lock is None and stored.scheduled_at == at(31)
    assert stored.trigger.execution_id == "e1"
    assert await repos.workflows.lock("l", token="tok-2", lease_until=at(90)) is not None


async def test_earliest_next_run_strictly_after_and_ignores_archived(repos: Repos) -> None:
    await repos.workflows.create(periodic("p5", at(5)))
    await repos.workflows.create(periodic("p10", at(10), status=WorkflowStatus.LOCKED))
    await repos.workflows.create(periodic("arch", at(3), archived_at=at(1)))
    await repos.workflows.create(manual("none"))

    assert await repos.workflows.earliest_next_run(at(0)) == at(5)
    assert await repos.workflows.earliest_next_run(at(5)) == at(10)
    assert await repos.workflows.earliest_next_run(at(10)) is None
    earliest = await repos.workflows.earliest_next_run(at(-100))
    assert earliest == at(5)
    assert_utc_ms(earliest)


async def test_lock_only_a_scheduled_workflow_and_only_once(repos: Repos) -> None:
    await repos.workflows.create(manual("m"))
    await repos.workflows.create(manual("gone", status=WorkflowStatus.SCHEDULED, archived_at=at(1)))
    assert await repos.workflows.lock("m", token="t0", lease_until=at(60)) is None
    assert await repos.workflows.lock("gone", token="t0", lease_until=at(60)) is None
    assert await repos.workflows.lock("unknown", token="t0", lease_until=at(60)) is None
    assert await repos.workflows.claim_for_trigger(claim("m", "e1"))

    locked = await repos.workflows.lock("m", token="t1", lease_until=at(60))
    second = await repos.workflows.lock("m", token="t2", lease_until=at(60))

    assert locked is not None and second is None
    assert locked.status == WorkflowStatus.LOCKED
    assert locked.lock == Lock(token="t1", expires_at=at(60))
    assert locked.actions == manual("m").actions
    assert locked.trigger.execution_id == "e1"
    assert_utc_ms(locked.lock.expires_at, locked.created_at)
    stored = await repos.workflows.get("m")
    assert stored is not None and stored.lock == Lock(token="t1", expires_at=at(60))


async def test_extend_lease_needs_the_token(repos: Repos) -> None:
    await repos.workflows.create(manual("m"))
    assert await repos.workflows.claim_for_trigger(claim("m"))
    assert await repos.workflows.lock("m", token="t1", lease_until=at(60)) is not None

    assert not await repos.workflows.extend_lease("m", token="t2", lease_until=at(500))
    assert await repos.workflows.extend_lease("m", token="t1", lease_until=at(120))

    stored = await repos.workflows.get("m")
    assert stored is not None and stored.lock == Lock(token="t1", expires_at=at(120))


async def test_release_needs_the_token_and_sets_the_trigger_state(repos: Repos) -> None:
    await repos.workflows.create(periodic("p", at(10)))
    [due] = await repos.workflows.find_due(NOW, after=None, limit=10)
    assert await repos.workflows.claim_due(due, now=NOW, execution_id="x1", next_run=at(110))
    assert await repos.workflows.lock("p", token="t1", lease_until=at(160)) is not None

    pending = Release("p", "t2", TriggerStatus.PENDING, at(104), "x1")
    assert not await repos.workflows.release(pending)
    assert await repos.workflows.release(Release("p", "t1", TriggerStatus.PENDING, at(104), "x1"))
    assert not await repos.workflows.release(Release("p", "t1", None, None, None))

    stored = await repos.workflows.get("p")
    assert stored is not None
    assert stored.status == WorkflowStatus.ACTIVE
    assert stored.lock is None and stored.scheduled_at is None
    assert stored.trigger.status == TriggerStatus.PENDING
    assert stored.trigger.next_run == at(104)
    assert stored.trigger.execution_id == "x1"
    assert [
        d.workflow_id for d in await repos.workflows.find_due(at(104), after=None, limit=10)
    ] == ["p"]


async def test_interrupted_attempts_are_counted_by_release_and_recovery(repos: Repos) -> None:
    """Issue 13 #13: a release after an interruption and a recovered lease each count one."""
    await repos.workflows.create(manual("m"))
    assert await repos.workflows.claim_for_trigger(claim("m", "x1"))
    assert await repos.workflows.lock("m", token="t1", lease_until=at(30)) is not None
    interrupted = Release("m", "t1", TriggerStatus.PENDING, at(4), "x1", interrupted_attempts=1)
    assert await repos.workflows.release(interrupted)
    [due] = await repos.workflows.find_due(at(4), after=None, limit=10)
    assert await repos.workflows.claim_due(due, now=at(4), execution_id="x1", next_run=None)
    locked = await repos.workflows.lock("m", token="t2", lease_until=at(30))
    assert locked is not None and locked.trigger.interrupted_attempts == 1

    [expired] = await repos.workflows.find_expired_locks(at(31), limit=10)
    assert await repos.workflows.recover_lock(expired, now=at(31))
    assert not await repos.workflows.recover_lock(expired, now=at(32))

    relocked = await repos.workflows.lock("m", token="t3", lease_until=at(90))
    assert relocked is not None
    assert (relocked.trigger.interrupted_attempts, relocked.trigger.execution_id) == (2, "x1")
    assert await repos.workflows.release(Release("m", "t3", None, None, None))
    stored = await repos.workflows.get("m")
    assert stored is not None and stored.trigger.interrupted_attempts == 0
