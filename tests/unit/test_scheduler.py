"""Scheduler over the in-memory repository: due dispatch, replicas, batches, recovery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from scheduler_svc.scheduler import Scheduler
from scheduler_svc.wakeups import wake_delay_s
from shared.adapters.memory import InMemoryPublisher, InMemoryWorkflowRepository
from shared.domain.models import TriggerStatus, WorkflowStatus
from shared.ports import DueWorkflow
from tests.fakes import Harness, ScriptedActionRunner, manual_workflow, periodic_workflow
from tests.polling import eventually

DEADLINE_S = 5.0


@pytest.fixture
def h() -> Harness:
    return Harness()


def dispatches(kind: str) -> float:
    return REGISTRY.get_sample_value("scheduler_dispatches_total", {"kind": kind}) or 0.0


async def test_run_once_dispatches_due_workflows_only(h: Harness) -> None:
    due = await h.add(periodic_workflow("due", h.clock, interval_s=10))
    await h.add(periodic_workflow("later", h.clock, interval_s=60))
    await h.add(periodic_workflow("archived", h.clock, interval_s=10))
    await h.workflows.archive("archived", h.clock.now())
    await h.add(manual_workflow("manual", h.clock))
    h.clock.advance(10)

    report = await h.scheduler().run_once()

    assert report.dispatched == 1
    (request,) = h.publisher.published
    assert request.workflow_id == "due" and request.execution_id
    wf = await h.workflows.get("due")
    assert wf is not None
    assert wf.status == WorkflowStatus.SCHEDULED
    assert wf.trigger.status == TriggerStatus.BUSY
    assert wf.trigger.execution_id == request.execution_id
    assert wf.trigger.next_run == due.created_at + timedelta(seconds=20)
    for idle_id in ("later", "archived", "manual"):
        idle = await h.workflows.get(idle_id)
        assert idle is not None
        assert (idle.status, idle.trigger.status) == (WorkflowStatus.ACTIVE, None), idle_id
    assert (await h.scheduler().run_once()).dispatched == 0
    assert len(h.publisher.published) == 1


async def test_each_periodic_run_gets_a_fresh_execution_id(h: Harness) -> None:
    await h.add(periodic_workflow("p", h.clock, interval_s=10))
    worker = h.worker(ScriptedActionRunner())
    for _ in range(3):
        h.clock.advance(10)
        (request,) = await h.dispatch_due()
        await worker.run(request)
    ids = [r.execution_id for r in h.publisher.published]
    assert len(set(ids)) == 3
    assert len(await h.execution_of("p")) == 3


async def test_two_replicas_dispatch_each_due_workflow_exactly_once(h: Harness) -> None:
    for i in range(50):
        await h.add(periodic_workflow(f"wf-{i:02d}", h.clock, interval_s=10))
    h.clock.advance(10)
    first_pub, second_pub = InMemoryPublisher(), InMemoryPublisher()
    first, second = h.scheduler(first_pub), h.scheduler(second_pub)

    reports = await asyncio.gather(first.run_once(), second.run_once())

    published = [r.workflow_id for r in first_pub.published + second_pub.published]
    assert sorted(published) == [f"wf-{i:02d}" for i in range(50)]
    assert sum(r.dispatched for r in reports) == 50


async def test_many_due_workflows_are_dispatched_in_batches_once_each(h: Harness) -> None:
    for i in range(1234):
        await h.add(periodic_workflow(f"wf-{i:04d}", h.clock, interval_s=1 + i % 7))
    h.clock.advance(10)
    scheduler = h.scheduler(batch_size=100)

    report = await scheduler.run_once()

    assert report.dispatched == 1234
    published = [r.workflow_id for r in h.publisher.published]
    assert len(published) == 1234 and len(set(published)) == 1234
    assert (await scheduler.run_once()).dispatched == 0


async def test_pending_retry_dispatch_keeps_the_pending_execution(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    failed = await h.worker(ScriptedActionRunner(always_fail={1})).run(request)
    assert failed is not None
    h.clock.advance(4)

    (retry,) = await h.dispatch_due()

    assert retry.execution_id == failed.id == request.execution_id
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert wf.status == WorkflowStatus.SCHEDULED
    assert (wf.trigger.status, wf.trigger.execution_id) == (TriggerStatus.BUSY, failed.id)
    assert wf.trigger.next_run is None


async def test_tick_report_counts_retries_apart_from_fresh_runs(h: Harness) -> None:
    await h.add(manual_workflow("retrying", h.clock))
    failed = await h.worker(ScriptedActionRunner(always_fail={1})).run(await h.trigger("retrying"))
    assert failed is not None
    await h.add(periodic_workflow("fresh", h.clock, interval_s=4))
    h.clock.advance(4)

    report = await h.scheduler().run_once()

    assert (report.dispatched, report.retries) == (2, 1)


async def test_unacknowledged_dispatch_is_redispatched_after_the_timeout(h: Harness) -> None:
    await h.add(periodic_workflow("p", h.clock, interval_s=10))
    h.clock.advance(10)
    scheduler = h.scheduler(scheduled_timeout_s=30)
    h.publisher.fail_next = 1

    report = await scheduler.run_once()

    assert report.unacknowledged == 1
    assert h.publisher.published == []
    wf = await h.workflows.get("p")
    assert wf is not None and wf.status == WorkflowStatus.SCHEDULED
    claimed_id = wf.trigger.execution_id
    h.clock.advance(29)
    assert (await scheduler.run_once()).redispatched == 0
    assert h.publisher.published == []

    stuck_before = dispatches("stuck")
    h.clock.advance(1)
    report = await scheduler.run_once()

    assert report.redispatched == 1
    (request,) = h.publisher.published
    assert (request.workflow_id, request.execution_id) == ("p", claimed_id)
    assert dispatches("stuck") == stuck_before + 1
    assert (await scheduler.run_once()).redispatched == 0  # re-armed: not again at once


async def test_expired_lock_is_recovered_but_a_live_one_is_not(h: Harness) -> None:
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    lease_until = h.clock.now() + timedelta(seconds=60)
    assert await h.workflows.lock("wf", token="dead", lease_until=lease_until) is not None
    scheduler = h.scheduler()

    h.clock.advance(59)
    assert (await scheduler.run_once()).recovered == 0
    h.clock.advance(1)
    assert (await scheduler.run_once()).recovered == 1

    (redelivered,) = h.publisher.published
    assert redelivered.execution_id == request.execution_id
    wf = await h.workflows.get("wf")
    assert wf is not None
    assert (wf.status, wf.lock, wf.trigger.status) == (
        WorkflowStatus.SCHEDULED, None, TriggerStatus.BUSY
    )


NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("earliest", "expected"),
    [
        (None, 5.0),
        (NOW - timedelta(seconds=3), 0.0),
        (NOW, 0.0),
        (NOW + timedelta(seconds=2), 2.0),
        (NOW + timedelta(seconds=5), 5.0),
        (NOW + timedelta(hours=1), 5.0),
    ],
)
def test_wake_delay(earliest: datetime | None, expected: float) -> None:
    assert wake_delay_s(NOW, earliest, 5.0) == expected


async def test_run_until_stop_terminates_promptly(h: Harness) -> None:
    await h.add(periodic_workflow("p", h.clock, interval_s=600))
    h.clock.advance(600)
    scheduler = h.scheduler(interval_s=3600)

    task = asyncio.create_task(scheduler.run())

    async def dispatched() -> bool:
        return len(h.publisher.published) == 1

    await eventually(dispatched, timeout_s=DEADLINE_S, what="first tick")
    scheduler.stop()
    await asyncio.wait_for(task, timeout=DEADLINE_S)


class FindDueFailsOnce(InMemoryWorkflowRepository):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def find_due(
        self, now: datetime, *, after: DueWorkflow | None, limit: int
    ) -> list[DueWorkflow]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable (simulated)")
        return await super().find_due(now, after=after, limit=limit)


async def test_a_failing_tick_does_not_stop_the_loop() -> None:
    h = Harness(workflows=FindDueFailsOnce())
    await h.add(periodic_workflow("p", h.clock, interval_s=10))
    h.clock.advance(10)
    scheduler: Scheduler = h.scheduler(interval_s=0.05)

    task = asyncio.create_task(scheduler.run())
    try:
        async def dispatched() -> bool:
            return len(h.publisher.published) == 1

        await eventually(dispatched, timeout_s=DEADLINE_S, what="dispatch after a failure")
    finally:
        scheduler.stop()
        await asyncio.wait_for(task, timeout=DEADLINE_S)
    assert not task.cancelled()
