"""Scheduler ticks: wake-up after a slow tick (issue 13 #1), settling archives (#2, #3)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from scheduler_svc.wakeups import maintenance_due
from shared.adapters.memory import InMemoryPublisher
from shared.domain.models import ExecutionRequest, ExecutionStatus
from tests.fakes import Harness, ScriptedActionRunner, manual_workflow, periodic_workflow
from tests.fakes.clock import FakeClock
from tests.polling import eventually

DEADLINE_S = 5.0


@pytest.fixture
def h() -> Harness:
    return Harness()


class SlowPublisher(InMemoryPublisher):
    """A publisher whose acknowledgement takes `delay_s` of the fake clock's time."""

    def __init__(self, clock: FakeClock, delay_s: float) -> None:
        super().__init__()
        self._clock = clock
        self._delay_s = delay_s

    async def publish_many(self, requests: Sequence[ExecutionRequest]) -> list[bool]:
        self._clock.advance(self._delay_s)
        return await super().publish_many(requests)


async def test_a_run_falling_due_during_a_tick_is_dispatched_at_once(h: Harness) -> None:
    """Issue 13 #1: due after the tick's `now` but before its end, it waited a whole interval."""
    await h.add(periodic_workflow("first", h.clock, interval_s=10))
    h.clock.advance(0.2)
    await h.add(periodic_workflow("during-the-tick", h.clock, interval_s=10))
    h.clock.advance(9.8)  # "first" is due now, "during-the-tick" 0.2 s later
    publisher = SlowPublisher(h.clock, delay_s=0.3)
    # Far longer than the deadline: only an immediate second tick can dispatch the second run.
    scheduler = h.scheduler(publisher, interval_s=DEADLINE_S * 10)

    task = asyncio.create_task(scheduler.run())
    try:
        async def both_dispatched() -> list[str]:
            ids = [r.workflow_id for r in publisher.published]
            return ids if len(ids) == 2 else []

        ids = await eventually(both_dispatched, timeout_s=DEADLINE_S, what="second dispatch")
    finally:
        scheduler.stop()
        await asyncio.wait_for(task, timeout=DEADLINE_S)
    assert ids == ["first", "during-the-tick"]


async def test_an_archive_cut_short_before_settling_is_settled_by_the_next_tick(
    h: Harness,
) -> None:
    """Issue 13 #2/#3: the API died between archiving and cancelling (or a run was going)."""
    await h.add(manual_workflow("queued", h.clock))
    await h.add(manual_workflow("retrying", h.clock))
    await h.add(manual_workflow("idle", h.clock))
    queued = await h.trigger("queued")
    retry = await h.worker(ScriptedActionRunner(always_fail={1})).run(await h.trigger("retrying"))
    assert retry is not None and retry.status == ExecutionStatus.PENDING
    for workflow_id in ("queued", "retrying", "idle"):
        assert await h.workflows.archive(workflow_id, h.clock.now())  # the repository step only
    h.clock.advance(1)

    report = await h.scheduler().run_once()

    assert report.cancelled == 2
    for workflow_id, execution_id in (("queued", queued.execution_id), ("retrying", retry.id)):
        (execution,) = await h.execution_of(workflow_id)
        assert (execution.id, execution.status) == (execution_id, ExecutionStatus.CANCELLED)
        assert execution.finished_at == h.clock.now()
        wf = await h.workflows.get(workflow_id)
        assert wf is not None and wf.trigger.execution_id is None
    assert await h.execution_of("idle") == []
    assert (await h.scheduler().run_once()).cancelled == 0


@pytest.mark.parametrize(("since_s", "due"), [(None, True), (0.0, False), (0.99, False),
                                              (1.0, True), (30.0, True)])
def test_the_recovery_passes_run_at_most_once_a_second(since_s: float | None, due: bool) -> None:
    now = FakeClock().now()
    last = None if since_s is None else now - timedelta(seconds=since_s)
    assert maintenance_due(now, last, 1.0) is due


async def test_ticks_in_quick_succession_leave_the_recovery_passes_to_the_first(
    h: Harness,
) -> None:
    """One tick per wake-up (a delay falling due every few ms) must not repeat the stuck,
    lease and archive queries each time; the next tick a second later runs them."""
    await h.add(manual_workflow("queued", h.clock))
    await h.trigger("queued")
    assert await h.workflows.archive("queued", h.clock.now())
    h.clock.advance(1)
    scheduler = h.scheduler(interval_s=DEADLINE_S * 10)

    assert (await scheduler.run_once(maintenance=False)).cancelled == 0
    assert (await h.execution_of("queued")) == []
    assert (await scheduler.run_once()).cancelled == 1
