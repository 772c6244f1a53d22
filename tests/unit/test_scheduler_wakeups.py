"""The scheduler wakes at once for a run written while it sleeps (change-stream nudges)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from scheduler_svc.wakeups import WakeUps
from shared.adapters.memory import InMemoryPublisher
from tests.fakes import Harness, periodic_workflow
from tests.fakes.clock import FakeClock
from tests.polling import eventually

DEADLINE_S = 5.0
LONG_INTERVAL_S = 60 * DEADLINE_S  # only a nudge can wake the scheduler within the deadline


class FeedWatch:
    """A NextRunWatch fed by the test, as a change stream is fed by the database."""

    def __init__(self) -> None:
        self._callback: Callable[[datetime], None] | None = None
        self.opened = asyncio.Event()

    async def run(self, on_next_run: Callable[[datetime], None]) -> None:
        self._callback = on_next_run
        self.opened.set()
        await asyncio.Event().wait()  # until cancelled, like a stream

    def emit(self, next_run: datetime) -> None:
        assert self._callback is not None
        self._callback(next_run)


async def test_a_new_workflow_is_dispatched_without_waiting_for_the_interval() -> None:
    h = Harness()
    watch, publisher = FeedWatch(), InMemoryPublisher()
    scheduler = h.scheduler(publisher, interval_s=LONG_INTERVAL_S, watch=watch)
    task = asyncio.create_task(scheduler.run())
    try:
        await asyncio.wait_for(watch.opened.wait(), DEADLINE_S)
        await h.add(periodic_workflow("new", h.clock, interval_s=10))
        h.clock.advance(10)  # its first slot is now
        watch.emit(h.clock.now())

        async def dispatched() -> list[str]:
            return [r.workflow_id for r in publisher.published]

        assert await eventually(dispatched, timeout_s=DEADLINE_S, what="a dispatch") == ["new"]
    finally:
        scheduler.stop()
        await asyncio.wait_for(task, DEADLINE_S)


async def test_a_later_nudge_does_not_cut_the_sleep_short() -> None:
    clock = FakeClock()
    wakeups = WakeUps(clock)
    sleeping = asyncio.create_task(wakeups.sleep(clock.now(), max_s=LONG_INTERVAL_S))
    await asyncio.wait_for(sleeping, DEADLINE_S)  # planned now: returns at once

    later = asyncio.create_task(wakeups.sleep(None, max_s=LONG_INTERVAL_S))
    wakeups.nudge(clock.now())
    await asyncio.wait_for(later, DEADLINE_S)  # nudged for now: returns at once

    wakeups.begin_tick()
    stopped = asyncio.create_task(wakeups.sleep(None, max_s=LONG_INTERVAL_S))
    wakeups.nudge(clock.now().replace(year=clock.now().year + 1))  # later than the interval
    await asyncio.sleep(0)  # let it take the nudge and go back to sleep
    assert not stopped.done()
    wakeups.stop()
    await asyncio.wait_for(stopped, DEADLINE_S)
