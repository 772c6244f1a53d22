"""Admission by queue wait: while runs have waited longer than `API_MAX_QUEUE_WAIT_MS` for a
runner, a manual trigger is answered 503 with Retry-After and stores nothing.

`API_MAX_IN_FLIGHT` bounds what one API process handles at once, but the API accepts more
than the runners drain, and the difference queues in Kafka behind the 200s. A wait, unlike
a count of queued runs, means the same on a fast and a slow machine and for one runner or
ten. The queue is sampled a few times a second (one counted index scan of the `scheduled`
workflows), never per trigger: a trigger stays one round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from prometheus_client import Counter, Gauge

from shared.infra.logs import get_logger
from shared.ports import Clock, QueueDepth

log = get_logger(__name__)
POLL_S = 0.1
# A few long waiters are no overload: a run whose request was lost waits for the
# scheduler's re-send (SCHEDULED_TIMEOUT_S), and must not shut the API meanwhile.
STRAGGLERS_ADMITTED = 8
OVERDUE = Gauge("runs_queued_over_wait_sampled",
                "Runs waiting for a runner longer than API_MAX_QUEUE_WAIT_MS, as last sampled "
                f"by the API (counted up to {STRAGGLERS_ADMITTED + 1})")
SHED_TRIGGERS = Counter("triggers_shed_total",
                        "Manual triggers answered 503 because runs waited longer than "
                        "API_MAX_QUEUE_WAIT_MS for a runner")


class QueueBound:
    """Whether runs wait too long for a runner, as of the last sample."""

    def __init__(self, depth: QueueDepth, clock: Clock, *, max_wait_ms: int,
                 poll_s: float = POLL_S) -> None:
        self._depth = depth
        self._clock = clock
        self._max_wait = timedelta(milliseconds=max_wait_ms)
        self._poll_s = poll_s
        self._full = False
        self._failing = False

    def full(self) -> bool:
        """True while the last sample counted more than `STRAGGLERS_ADMITTED` runs that had
        waited longer than the bound."""
        return self._full

    def sheds(self) -> bool:
        """Whether a trigger arriving now is shed (`full`); each one shed is counted."""
        if self._full:
            SHED_TRIGGERS.inc()
        return self._full

    async def sample(self) -> None:
        """Count the long-waiting runs once; a failed count admits (the trigger will say why)."""
        try:
            overdue = await self._depth.count_queued(
                older_than=self._clock.now() - self._max_wait, limit=STRAGGLERS_ADMITTED + 1)
        except Exception as exc:
            if not self._failing:
                log.warning("queued runs could not be counted; admitting", error=repr(exc))
            self._failing, self._full = True, False
            return
        self._failing = False
        self._full = overdue > STRAGGLERS_ADMITTED
        OVERDUE.set(overdue)

    @asynccontextmanager
    async def sampling(self) -> AsyncIterator[QueueBound]:
        """Sample every `poll_s` while the context is open (stopped, not cancelled: a
        PyMongo call is never cancelled mid-flight)."""
        stop = asyncio.Event()

        async def loop() -> None:
            while not stop.is_set():
                await self.sample()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self._poll_s)
                except TimeoutError:
                    pass

        task = asyncio.create_task(loop())
        try:
            yield self
        finally:
            stop.set()
            await task
