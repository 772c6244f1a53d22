"""The runner's consumer loop: bounded concurrency across workflows, one workflow's
requests in order, offsets committed only below what is fully handled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from runner_svc.poison import PoisonHandler, decode
from shared.domain.codec import PoisonMessage
from shared.domain.models import ExecutionRequest
from shared.infra.logs import get_logger
from shared.infra.metrics import CONSUMED, CONSUMER_ERRORS
from shared.infra.tracing import remote_parent
from shared.ports import ConsumedMessage, MessageSource

log = get_logger(__name__)
Handler = Callable[[ExecutionRequest], Awaitable[object]]


class PartitionOffsets:
    """Tracks in-flight offsets of one partition; the commit point is the lowest unfinished."""

    def __init__(self) -> None:
        self._in_flight: set[int] = set()
        self._highest_seen = -1
        self._committed = -1

    def start(self, offset: int) -> None:
        self._in_flight.add(offset)
        self._highest_seen = max(self._highest_seen, offset)

    def finish(self, offset: int) -> None:
        self._in_flight.discard(offset)

    def commit_point(self) -> int | None:
        """Next offset to commit, if it moved since the last commit."""
        point = min(self._in_flight) if self._in_flight else self._highest_seen + 1
        return point if point > self._committed else None

    def committed(self, point: int) -> None:
        self._committed = max(self._committed, point)

    @property
    def idle(self) -> bool:
        return not self._in_flight


class ConsumerLoop:
    """Fetch -> dispatch (per-key chains under a semaphore) -> commit; `stop()` drains.

    Offsets are committed after a fetch at most every `commit_interval_s` (0: after every
    fetch), and always on a drain (stop, rebalance): a commit is a write on the broker, and
    one per fetch at a low rate cost Kafka more than the records. A crash redelivers at most
    that interval's handled records, which the claim turns into skips."""

    def __init__(
        self, *, source: MessageSource, handle: Handler, concurrency: int = 32,
        fetch_timeout_s: float = 0.5, drain_timeout_s: float = 30.0,
        on_poison: PoisonHandler | None = None, commit_interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._handle = handle
        self._on_poison = on_poison or PoisonHandler()
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._fetch_timeout_s = fetch_timeout_s
        self._drain_timeout_s = drain_timeout_s
        self._offsets: dict[int, PartitionOffsets] = {}
        self._tails: dict[bytes, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._commit_interval_s = commit_interval_s
        self._clock = clock
        self._last_commit_at = clock()

    async def run(self) -> None:
        """Consume until `stop()`; then finish in-flight work and commit."""
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                CONSUMER_ERRORS.labels("loop").inc()
                log.exception("consumer loop error; continuing", error=repr(exc))
                await asyncio.sleep(1.0)
        await self.drain()

    async def run_once(self) -> int:
        """One fetch, its records dispatched, then a commit if one is due; the number fetched."""
        messages = await self._source.fetch(
            timeout_s=self._fetch_timeout_s, max_records=self._concurrency
        )
        for message in messages:
            await self._slots.acquire()
            self._dispatch(message)
        if self._clock() - self._last_commit_at >= self._commit_interval_s:
            await self.commit()
        return len(messages)

    def stop(self) -> None:
        self._stopping.set()

    async def drain(self, partitions: set[int] | None = None) -> None:
        """Wait (bounded) for in-flight work, of some partitions or all, then commit."""
        pending = [t for t in self._tasks if partitions is None or t.get_name() in
                   {str(p) for p in partitions}]
        if pending:
            done, not_done = await asyncio.wait(pending, timeout=self._drain_timeout_s)
            for task in not_done:
                task.cancel()
            if not_done:
                await asyncio.wait(not_done)
        await self.commit()
        # Cancelled requests stay uncommitted (redelivered); forget drained partitions' state.
        running = {task.get_name() for task in self._tasks}
        for partition in partitions or set(self._offsets):
            if str(partition) not in running:
                self._offsets.pop(partition, None)

    async def commit(self) -> None:
        """Commit each partition's offset below its lowest unfinished record, if it moved."""
        self._last_commit_at = self._clock()
        points = {}
        for partition, tracker in self._offsets.items():
            point = tracker.commit_point()
            if point is not None:
                points[partition] = point
        if not points:
            return
        await self._source.commit(points)
        for partition, point in points.items():
            self._offsets[partition].committed(point)

    def _dispatch(self, message: ConsumedMessage) -> None:
        CONSUMED.inc()
        self._offsets.setdefault(message.partition, PartitionOffsets()).start(message.offset)
        key = message.key or b""
        previous = self._tails.get(key)
        task = asyncio.create_task(self._process(message, previous), name=str(message.partition))
        self._tails[key] = task
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, message, key))

    async def _process(
        self, message: ConsumedMessage, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        request = decode(message)
        if isinstance(request, PoisonMessage):
            await self._on_poison(message, request)
            return
        try:
            with remote_parent(message.headers):
                await self._handle(request)
        except Exception as exc:
            CONSUMER_ERRORS.labels("handler").inc()
            log.exception("request handling failed; skipped", workflow_id=request.workflow_id,
                          error=repr(exc))

    def _done(self, task: asyncio.Task[None], message: ConsumedMessage, key: bytes) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if self._tails.get(key) is task:
            del self._tails[key]
        if task.cancelled():  # not handled: stays uncommitted, read again
            return
        if task.exception() is not None:  # retrieved, counted; never "never retrieved"
            CONSUMER_ERRORS.labels("internal").inc()
            log.error("record processing raised", partition=message.partition,
                      offset=message.offset, error=repr(task.exception()))
        tracker = self._offsets.get(message.partition)
        if tracker is not None:
            tracker.finish(message.offset)
