"""ExecutionWorker over the in-memory repositories: claim, attempt, results, release, lease."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from shared.adapters.memory import InMemoryWorkflowRepository
from shared.domain.errors import Unavailable
from shared.domain.models import (
    Action,
    ActionResultStatus,
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    TriggerStatus,
    WorkflowStatus,
)
from shared.ports import Release
from tests.fakes import (
    ActionHook,
    Harness,
    ScriptedActionRunner,
    manual_workflow,
    periodic_workflow,
)
from tests.polling import eventually

OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED
DEADLINE_S = 5.0


def results(execution: Execution) -> list[tuple[int, ActionResultStatus]]:
    return [(r.action_id, r.status) for r in execution.executed_actions]


async def wait_set(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), timeout=DEADLINE_S)


def blocking_hook(on_action: int, started: asyncio.Event, go: asyncio.Event) -> ActionHook:
    """A hook that, on `on_action`, signals `started` and waits for `go`."""

    async def hook(action: Action) -> None:
        if action.action_id == on_action:
            started.set()
            await go.wait()
    return hook


@pytest.fixture(params=[0.0, 60.0], ids=["recorded-first", "insert-deferred"])
def h(request: pytest.FixtureRequest) -> Harness:
    """Every case with the execution inserted before its attempt, and deferred (a new one)."""
    return Harness(record_after_s=request.param)


async def test_should_lock_workflow_before_working(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    await h.trigger("wf")
    observed = []

    async def probe(action: Action) -> None:
        stored = await h.workflows.get("wf")
        assert stored is not None
        observed.append((action.action_id, stored.status, stored.lock is not None))

    actions = ScriptedActionRunner(hook=probe)
    await h.worker(actions).run(ExecutionRequest(workflow_id="wf"))

    locked = WorkflowStatus.LOCKED
    assert observed == [(1, locked, True), (2, locked, True), (3, locked, True)]
    after = await h.workflows.get("wf")
    assert after is not None
    assert (after.status, after.lock) == (WorkflowStatus.ACTIVE, None)


async def test_fresh_execution_runs_all_actions_and_releases_idle(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    actions = ScriptedActionRunner()

    returned = await h.worker(actions).run(request)

    assert returned is not None and returned.id == request.execution_id
    stored = await h.executions.get(request.execution_id or "")
    assert stored is not None
    assert stored.status == ExecutionStatus.OK
    assert stored.retries == 4
    assert stored.total_actions == 3
    assert stored.finished_at == h.clock.now()
    assert stored.last_failed_action is None
    assert results(stored) == [(1, OK), (2, OK), (3, OK)]
    assert actions.ran == [1, 2, 3]
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert wf.status == WorkflowStatus.ACTIVE
    assert (wf.trigger.status, wf.trigger.execution_id, wf.trigger.next_run) == (None, None, None)


async def test_failure_waits_for_backoff_and_retry_resumes_at_failed_action(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    actions = ScriptedActionRunner(script={2: ["failed"]})
    worker = h.worker(actions)

    first = await worker.run(request)

    assert first is not None
    stored = await h.executions.get(first.id)
    assert stored is not None
    assert (stored.status, stored.retries, stored.last_failed_action) == (
        ExecutionStatus.PENDING, 3, 2
    )
    assert stored.finished_at is None
    assert results(stored) == [(1, OK), (2, FAILED)]
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert wf.status == WorkflowStatus.ACTIVE
    assert wf.trigger.status == TriggerStatus.PENDING
    assert wf.trigger.next_run == h.clock.now() + timedelta(seconds=4)
    assert wf.trigger.execution_id == first.id

    assert await h.dispatch_due() == []  # not due before the backoff elapsed
    h.clock.advance(4)
    retry_requests = await h.dispatch_due()
    assert [r.execution_id for r in retry_requests] == [first.id]

    second = await worker.run(retry_requests[0])

    assert second is not None and second.id == first.id
    assert actions.ran == [1, 2, 2, 3]
    stored = await h.executions.get(first.id)
    assert stored is not None
    assert stored.status == ExecutionStatus.OK
    assert stored.finished_at == h.clock.now()
    assert results(stored) == [(1, OK), (2, FAILED), (2, OK), (3, OK)]
    assert len(await h.execution_of("wf")) == 1
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert (wf.trigger.status, wf.trigger.execution_id, wf.trigger.next_run) == (None, None, None)


async def test_each_run_is_recorded_with_its_attempt_and_timings(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")

    async def takes_250_ms(action: Action) -> None:
        h.clock.advance(0.25)

    worker = h.worker(ScriptedActionRunner(script={2: ["failed"]}, hook=takes_250_ms))
    start = h.clock.now()
    first = await worker.run(request)
    assert first is not None
    h.clock.advance(4)
    retry_start = h.clock.now()
    (retry,) = await h.dispatch_due()
    await worker.run(retry)

    stored = await h.executions.get(first.id)
    assert stored is not None and stored.attempt == 2
    runs = [(key, r.seq, r.attempt, r.started_at, r.finished_at, r.duration_ms)
            for key, state in stored.actions.items() for r in state.runs]
    ms = timedelta(milliseconds=250)
    assert sorted(runs, key=lambda run: run[1]) == [
        ("action-1", 1, 1, start, start + ms, 250),
        ("action-2", 2, 1, start + ms, start + 2 * ms, 250),
        ("action-2", 3, 2, retry_start, retry_start + ms, 250),
        ("action-3", 4, 2, retry_start + ms, retry_start + 2 * ms, 250),
    ]


async def test_always_failing_gives_up_after_four_attempts_with_backoffs(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    actions = ScriptedActionRunner(always_fail={2})
    worker = h.worker(actions)
    backoffs = []

    execution = await worker.run(request)
    for _ in range(3):
        wf = await h.workflows.get("wf")
        assert wf is not None and wf.trigger.next_run is not None
        assert wf.trigger.status == TriggerStatus.PENDING
        delay = (wf.trigger.next_run - h.clock.now()).total_seconds()
        backoffs.append(delay)
        h.clock.advance(delay)
        (retry,) = await h.dispatch_due()
        execution = await worker.run(retry)

    assert backoffs == [4, 9, 16]
    assert execution is not None
    stored = await h.executions.get(execution.id)
    assert stored is not None
    assert (stored.status, stored.retries, stored.last_failed_action) == (
        ExecutionStatus.FAILED, 0, 2
    )
    assert stored.finished_at == h.clock.now()
    assert results(stored) == [(1, OK), (2, FAILED), (2, FAILED), (2, FAILED), (2, FAILED)]
    assert actions.ran == [1, 2, 2, 2, 2]
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert (wf.trigger.status, wf.trigger.execution_id, wf.trigger.next_run) == (None, None, None)
    h.clock.advance(3600)
    assert await h.dispatch_due() == []


async def test_retries_and_backoff_scale_are_configurable() -> None:
    h = Harness(retries=2, backoff_scale=0.5)
    await h.add(manual_workflow("wf", h.clock))
    actions = ScriptedActionRunner(always_fail={1})
    worker = h.worker(actions)

    first = await worker.run(await h.trigger("wf"))

    assert first is not None and (first.status, first.retries) == (ExecutionStatus.PENDING, 1)
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert wf.trigger.next_run == h.clock.now() + timedelta(seconds=8)  # 0.5 * (6 - 2) ** 2
    h.clock.advance(8)
    (retry,) = await h.dispatch_due()
    last = await worker.run(retry)
    assert last is not None
    assert (last.status, last.retries, last.id) == (ExecutionStatus.FAILED, 0, first.id)
    assert actions.ran == [1, 1]


async def test_periodic_next_run_stays_on_the_grid_when_runs_take_time(h: Harness) -> None:
    workflow = await h.add(periodic_workflow("p", h.clock, interval_s=10))
    t0 = workflow.created_at

    async def slow(action: Action) -> None:
        if action.action_id == 1:
            h.clock.advance(4)

    worker = h.worker(ScriptedActionRunner(hook=slow))
    next_runs = []
    for _ in range(4):
        wf = await h.workflows.get("p")
        assert wf is not None and wf.trigger.next_run is not None
        h.clock.set(wf.trigger.next_run)
        (request,) = await h.dispatch_due()
        await worker.run(request)
        wf = await h.workflows.get("p")
        assert wf is not None
        next_runs.append(wf.trigger.next_run)

    assert next_runs == [t0 + timedelta(seconds=s) for s in (20, 30, 40, 50)]


async def test_periodic_run_longer_than_interval_takes_the_next_free_slot(h: Harness) -> None:
    workflow = await h.add(periodic_workflow("p", h.clock, interval_s=10))
    t0 = workflow.created_at

    async def very_slow(action: Action) -> None:
        if action.action_id == 1:
            h.clock.advance(12)

    h.clock.advance(10)
    (request,) = await h.dispatch_due()
    await h.worker(ScriptedActionRunner(hook=very_slow)).run(request)

    wf = await h.workflows.get("p")
    assert wf is not None
    assert h.clock.now() == t0 + timedelta(seconds=22)
    assert wf.trigger.next_run == t0 + timedelta(seconds=30)  # not finish + interval (32)


async def test_missed_slots_collapse_into_one_run(h: Harness) -> None:
    workflow = await h.add(periodic_workflow("p", h.clock, interval_s=10))
    t0 = workflow.created_at
    worker = h.worker(ScriptedActionRunner())

    h.clock.advance(10 * 10 + 5)  # the system was down for ten intervals
    requests = await h.dispatch_due()
    assert len(requests) == 1
    await worker.run(requests[0])

    wf = await h.workflows.get("p")
    assert wf is not None
    assert wf.trigger.next_run == t0 + timedelta(seconds=110)
    assert await h.dispatch_due() == []


async def test_action_that_raises_releases_and_keeps_the_execution_for_a_retry(
    h: Harness,
) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    actions = ScriptedActionRunner(script={2: ["raise"]})
    worker = h.worker(actions)

    assert await worker.run(request) is None

    wf = await h.workflows.get("wf")
    assert wf is not None
    assert (wf.status, wf.lock) == (WorkflowStatus.ACTIVE, None)
    assert wf.trigger.status == TriggerStatus.PENDING
    assert wf.trigger.execution_id == request.execution_id
    assert wf.trigger.next_run is not None and wf.trigger.next_run > h.clock.now()
    stored = await h.executions.get(request.execution_id or "")
    assert stored is not None and stored.status == ExecutionStatus.PENDING

    h.clock.advance(3600)
    (retry,) = await h.dispatch_due()
    assert retry.execution_id == request.execution_id
    final = await worker.run(retry)
    assert final is not None and final.status == ExecutionStatus.OK
    assert len(await h.execution_of("wf")) == 1


async def test_cancellation_during_an_action_releases(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    started, never = asyncio.Event(), asyncio.Event()
    worker = h.worker(ScriptedActionRunner(hook=blocking_hook(2, started, never)))

    task = asyncio.create_task(worker.run(request))
    await wait_set(started)
    locked = await h.workflows.get("wf")
    assert locked is not None and locked.status == WorkflowStatus.LOCKED
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    wf = await h.workflows.get("wf")
    assert wf is not None
    assert (wf.status, wf.lock) == (WorkflowStatus.ACTIVE, None)
    assert wf.trigger.status == TriggerStatus.PENDING
    assert wf.trigger.execution_id == request.execution_id


async def test_unclaimable_requests_are_skipped(h: Harness) -> None:
    actions = ScriptedActionRunner()
    worker = h.worker(actions)
    await h.add(manual_workflow("idle", h.clock))
    await h.add(manual_workflow("archived", h.clock))
    await h.trigger("archived")
    await h.workflows.archive("archived", h.clock.now())
    await h.add(manual_workflow("taken", h.clock))
    await h.trigger("taken")
    assert await h.workflows.lock(
        "taken", token="other", lease_until=h.clock.now() + timedelta(seconds=60)
    ) is not None

    for workflow_id in ("unknown", "idle", "archived", "taken"):
        assert await worker.run(ExecutionRequest(workflow_id=workflow_id)) is None

    assert actions.ran == []
    for workflow_id in ("idle", "archived", "taken"):
        assert await h.execution_of(workflow_id) == []
    taken = await h.workflows.get("taken")
    assert taken is not None and taken.lock is not None and taken.lock.token == "other"
    idle = await h.workflows.get("idle")
    assert idle is not None and idle.status == WorkflowStatus.ACTIVE


async def test_duplicate_deliveries_run_once(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    actions = ScriptedActionRunner()
    worker = h.worker(actions)

    outcomes = [await worker.run(request) for _ in range(5)]

    assert sum(o is not None for o in outcomes) == 1
    assert len(await h.execution_of("wf")) == 1
    assert actions.ran == [1, 2, 3]


async def test_two_concurrent_runs_of_one_workflow_exactly_one_runs(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    started, go = asyncio.Event(), asyncio.Event()
    actions = ScriptedActionRunner(hook=blocking_hook(1, started, go))
    first, second = h.worker(actions), h.worker(actions)

    tasks = {asyncio.create_task(first.run(request)), asyncio.create_task(second.run(request))}
    done, running = await asyncio.wait(
        tasks, timeout=DEADLINE_S, return_when=asyncio.FIRST_COMPLETED
    )
    assert len(done) == 1 and len(running) == 1
    assert done.pop().result() is None  # the loser, while the winner is mid-attempt
    assert started.is_set()
    go.set()
    winner = await asyncio.wait_for(running.pop(), timeout=DEADLINE_S)

    assert winner is not None and winner.status == ExecutionStatus.OK
    assert actions.ran == [1, 2, 3]
    assert len(await h.execution_of("wf")) == 1


async def test_expired_lease_is_recovered_and_the_same_execution_resumed(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    started, never = asyncio.Event(), asyncio.Event()
    stale = asyncio.create_task(
        h.worker(ScriptedActionRunner(hook=blocking_hook(2, started, never))).run(request)
    )
    await wait_set(started)
    held = await h.workflows.get("wf")
    assert held is not None and held.lock is not None
    stale_token = held.lock.token

    h.clock.advance(h.lease_s + 1)  # the stale runner stopped heartbeating (it "died")
    report = await h.scheduler().run_once()

    assert report.recovered == 1
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert (wf.status, wf.lock) == (WorkflowStatus.SCHEDULED, None)
    (redelivered,) = h.publisher.published
    assert redelivered.execution_id == request.execution_id

    resumed = await h.worker(ScriptedActionRunner()).run(redelivered)

    assert resumed is not None
    assert (resumed.id, resumed.status) == (request.execution_id, ExecutionStatus.OK)
    assert len(await h.execution_of("wf")) == 1
    after = await h.workflows.get("wf")
    assert after is not None
    assert (after.status, after.trigger.status) == (WorkflowStatus.ACTIVE, None)

    # The stale runner wakes up: its release must not clobber the new state.
    assert not await h.workflows.release(Release(
        workflow_id="wf", lock_token=stale_token, trigger_status=TriggerStatus.PENDING,
        next_run=h.clock.now(), execution_id=request.execution_id,
    ))
    stale.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stale
    final = await h.workflows.get("wf")
    assert final is not None
    assert (final.status, final.trigger.status, final.trigger.next_run) == (
        WorkflowStatus.ACTIVE, None, None
    )
    stored = await h.executions.get(request.execution_id or "")
    assert stored is not None and stored.status == ExecutionStatus.OK


async def test_heartbeat_extends_the_lease_of_a_long_running_action(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    started, go = asyncio.Event(), asyncio.Event()
    lease = timedelta(seconds=0.3)
    worker = h.worker(ScriptedActionRunner(hook=blocking_hook(2, started, go)), lease_s=0.3)

    task = asyncio.create_task(worker.run(request))
    await wait_set(started)
    h.clock.advance(60)  # far past the lease taken at the start

    async def extended() -> bool:
        wf = await h.workflows.get("wf")
        return bool(wf and wf.lock and wf.lock.expires_at == h.clock.now() + lease)

    await eventually(extended, timeout_s=DEADLINE_S, interval_s=0.02, what="lease extension")
    report = await h.scheduler().run_once()
    assert report.recovered == 0
    wf = await h.workflows.get("wf")
    assert wf is not None and wf.status == WorkflowStatus.LOCKED

    go.set()
    done = await asyncio.wait_for(task, timeout=DEADLINE_S)
    assert done is not None and done.status == ExecutionStatus.OK
    wf = await h.workflows.get("wf")
    assert wf is not None and wf.status == WorkflowStatus.ACTIVE


class ReleaseFailsOnce(InMemoryWorkflowRepository):
    """The database is unreachable at the moment of the first release."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def release(self, release: Release) -> bool:
        if self.failures:
            self.failures -= 1
            raise Unavailable("database unavailable (simulated)")
        return await super().release(release)


async def test_settled_execution_is_not_rerun_after_a_lost_release() -> None:
    h = Harness(workflows=ReleaseFailsOnce())
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    actions = ScriptedActionRunner()

    with pytest.raises(Unavailable):
        await h.worker(actions).run(request)
    h.clock.advance(h.lease_s + 1)
    report = await h.scheduler().run_once()
    assert report.recovered == 1
    (redelivered,) = h.publisher.published

    again = await h.worker(actions).run(redelivered)

    assert again is not None and again.status == ExecutionStatus.OK
    assert actions.ran == [1, 2, 3]  # the settled attempt is not repeated
    stored = await h.executions.get(request.execution_id or "")
    assert stored is not None and results(stored) == [(1, OK), (2, OK), (3, OK)]
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert (wf.status, wf.trigger.status, wf.trigger.execution_id) == (
        WorkflowStatus.ACTIVE, None, None
    )
