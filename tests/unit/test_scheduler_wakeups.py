"""The scheduler wakes at once for a run written while it sleeps (change-stream nudges), and
stops its watch without cancelling it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from scheduler_svc import scheduler as scheduler_module
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
        self.stopping = asyncio.Event()

    async def run(self, on_next_run: Callable[[datetime], None]) -> None:
        self._callback = on_next_run
        self.opened.set()
        await self.stopping.wait()

    def stop(self) -> None:
        self.stopping.set()

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


class SwallowingWatch(FeedWatch):
    """A watch whose read swallows a cancellation, as a PyMongo read can on Python 3.11."""

    async def run(self, on_next_run: Callable[[datetime], None]) -> None:
        self.opened.set()
        while not self.stopping.is_set():
            try:
                await self.stopping.wait()
            except asyncio.CancelledError:
                continue  # the driver's race: the cancellation is lost, the read goes on


class DeafWatch(FeedWatch):
    """A watch that does not hear `stop()` (a read stuck on an unreachable server)."""

    def stop(self) -> None:
        pass


async def test_stopping_does_not_rely_on_cancelling_the_watch() -> None:
    watch = SwallowingWatch()
    scheduler = Harness().scheduler(InMemoryPublisher(), interval_s=LONG_INTERVAL_S, watch=watch)
    task = asyncio.create_task(scheduler.run())
    await asyncio.wait_for(watch.opened.wait(), DEADLINE_S)
    scheduler.stop()
    done, _ = await asyncio.wait({task}, timeout=DEADLINE_S)  # never cancels: it would hang
    watch.stop()  # ends the read whatever happened (the test must not hang)
    assert done, "the scheduler waited on a watch that lost its cancellation"


async def test_a_watch_that_does_not_stop_is_left_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduler_module, "WATCH_STOP_TIMEOUT_S", 0.05)
    watch = DeafWatch()
    scheduler = Harness().scheduler(InMemoryPublisher(), interval_s=LONG_INTERVAL_S, watch=watch)
    task = asyncio.create_task(scheduler.run())
    await asyncio.wait_for(watch.opened.wait(), DEADLINE_S)
    scheduler.stop()
    await asyncio.wait_for(task, DEADLINE_S)
    assert not watch.stopping.is_set()
    watch.stopping.set()  # let the left-behind read end with the test


class SlowClock:
    """A clock that runs at half the speed of the loop's timers, so each timer fires before
    the clock reaches the time it was set for (as a timer rounded to whole ms can)."""

    def __init__(self) -> None:
        self._start = datetime.now(UTC)
        self._loop_start = asyncio.get_running_loop().time()

    def now(self) -> datetime:
        elapsed_s = asyncio.get_running_loop().time() - self._loop_start
        return self._start + timedelta(seconds=elapsed_s / 2)


async def test_the_sleep_never_ends_before_the_planned_time_by_the_clock() -> None:
    clock = SlowClock()
    wakeups = WakeUps(clock)
    planned = clock.now() + timedelta(milliseconds=40)

    await asyncio.wait_for(wakeups.sleep(planned, max_s=LONG_INTERVAL_S), DEADLINE_S)

    assert clock.now() >= planned
