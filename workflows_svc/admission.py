"""Admission by queue depth: while more runs wait for a runner than `API_MAX_QUEUED_RUNS`, a
manual trigger is answered 503 with Retry-After and stores nothing.

`API_MAX_IN_FLIGHT` bounds what one API process handles at once, but the API accepts more
than the runners drain, and the difference queues in Kafka behind the 200s. The queue is
sampled a few times a second (one counted index scan of the `scheduled` workflows, counting
no further than the bound), never per trigger: a trigger stays one round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import Counter, Gauge

from shared.infra.logs import get_logger
from shared.ports import QueueDepth

log = get_logger(__name__)
QUEUED = Gauge("runs_queued_sampled", "Runs waiting for a runner, as last sampled by the API "
               "(counted up to API_MAX_QUEUED_RUNS + 1)")
SHED_TRIGGERS = Counter("triggers_shed_total",
                        "Manual triggers answered 503 because API_MAX_QUEUED_RUNS runs waited")
POLL_S = 0.1


class QueueBound:
    """Whether the queue of runs is over its bound, as of the last sample."""

    def __init__(self, depth: QueueDepth, *, max_queued: int, poll_s: float = POLL_S) -> None:
        self._depth = depth
        self._max_queued = max_queued
        self._poll_s = poll_s
        self._full = False
        self._failing = False

    def full(self) -> bool:
        """True while the last sample counted more runs queued than the bound."""
        return self._full

    def sheds(self) -> bool:
        """Whether a trigger arriving now is shed (`full`); each one shed is counted."""
        if self._full:
            SHED_TRIGGERS.inc()
        return self._full

    async def sample(self) -> None:
        """Count the queued runs once; a failed count admits (the trigger will say why)."""
        try:
            queued = await self._depth.count_queued(limit=self._max_queued + 1)
        except Exception as exc:
            if not self._failing:
                log.warning("queued runs could not be counted; admitting", error=repr(exc))
            self._failing, self._full = True, False
            return
        self._failing = False
        self._full = queued > self._max_queued
        QUEUED.set(queued)

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
