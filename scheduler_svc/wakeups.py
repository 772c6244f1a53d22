"""The scheduler's sleep between ticks: until the earliest known run, a stop, or a nudge.

A nudge carries a `next_run` just written to the database (from a change stream): if it is
earlier than the planned wake-up, the sleep ends at that time instead. Nudges that arrive
during a tick are kept and weigh on the sleep that follows it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from shared.infra.logs import get_logger
from shared.ports import Clock, NextRunWatch

log = get_logger(__name__)


def wake_delay_s(now: datetime, earliest: datetime | None, interval_s: float) -> float:
    """Sleep until the earliest next run, never longer than the interval."""
    if earliest is None:
        return interval_s
    return min(interval_s, max(0.0, (earliest - now).total_seconds()))


def maintenance_due(now: datetime, last_at: datetime | None, every_s: float) -> bool:
    """Whether a tick also runs the recovery passes: their timeouts are tens of seconds, so
    ticks that come in quick succession (one per wake-up) need not repeat their queries."""
    return last_at is None or (now - last_at).total_seconds() >= every_s


class WakeUps:
    """Sleep until the earliest of a planned time, a nudged time and `max_s`, or `stop()`."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._event = asyncio.Event()
        self._hint: datetime | None = None
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def nudge(self, next_run: datetime) -> None:
        """A run at `next_run` exists now; wake for it if it is earlier than planned."""
        if self._hint is None or next_run < self._hint:
            self._hint = next_run
            self._event.set()

    def stop(self) -> None:
        self._stopped = True
        self._event.set()

    def begin_tick(self) -> None:
        """Forget the nudges that the tick about to run covers."""
        self._hint = None

    async def sleep(self, planned: datetime | None, *, max_s: float) -> None:
        """Return at the earliest of `planned`, a nudged time (both by the clock) and `max_s`
        seconds from now (by the loop's timer, which polls), or on stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        while not self._stopped:
            known = [t for t in (planned, self._hint) if t is not None]
            delay_s = wake_delay_s(self._clock.now(), min(known, default=None),
                                   deadline - loop.time())
            if delay_s <= 0:
                return
            self._event.clear()
            # A timer that fired is checked against the clock again rather than trusted: the
            # loop's timers can fire a little before the clock reaches their time (uvloop's
            # are whole milliseconds), and a tick started before its slot finds nothing due
            # and then waits out its own duration before the next one.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay_s):
                    await self._event.wait()
            if loop.time() >= deadline:
                return


async def stop_watching(
    watch: NextRunWatch, task: asyncio.Task[None] | None, *, timeout_s: float
) -> None:
    """Stop the watch and wait for it up to `timeout_s`, never cancelling it (see
    `shared.adapters.mongo_watch`): past that it is left to end with the process."""
    if task is None:
        return
    watch.stop()
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        log.warning("next-run watch still running at shutdown", waited_s=timeout_s)
    elif not task.cancelled() and task.exception() is not None:
        log.warning("next-run watch failed", error=repr(task.exception()))
