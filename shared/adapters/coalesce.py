"""Concurrent single writes of one kind sent to the database as one command per batch.

Each `submit` queues its item and waits for its own result. While no batch is being
written, the next loop iteration starts one with whatever has queued by then; while one is
being written, new items queue for the next. So a lone call waits for nothing but its own
command, and under load one command carries the writes of many callers: the client builds,
sends and awaits one command instead of dozens, and mongod parses, plans, journals and
acknowledges it once (`python -m bench` "Concurrent writes coalesced").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Each item's result, or the exception its own call raises; one result per item, in order.
Flush = Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]]


class Coalescer(Generic[Item, Result]):
    """Items of concurrent `submit`s written by one `flush` call per batch, one at a time."""

    def __init__(
        self, flush: Flush[Item, Result], *, max_batch: int = 256,
        key: Callable[[Item], Hashable] | None = None,
        fails_queued: Callable[[Exception], bool] | None = None,
    ) -> None:
        """`key`: items a batch may hold once each (a later one waits for the next batch).
        `fails_queued`: an error of a batch's item for which it holds is also raised, unsent,
        to the items that queued while that batch was written (a caller that must answer
        within a bound is not made to wait for a second outage timeout)."""
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._flush = flush
        self._max_batch = max_batch
        self._key = key
        self._fails_queued = fails_queued
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """The item's result once its batch is written (its exception raised here).

        A caller cancelled while it waits leaves its item to be written all the same: a write
        once sent may apply anyway, so one not yet sent is not withdrawn either."""
        result: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queued.append((item, result))
        if self._writing is None:
            self._writing = asyncio.create_task(self._write_queued())
        return await result

    async def _write_queued(self) -> None:
        try:
            while self._queued:
                await self._write(self._next_batch())
        finally:
            self._writing = None

    def _next_batch(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        later: list[tuple[Item, asyncio.Future[Result]]] = []
        keys: set[Hashable] = set()
        for queued in self._queued:
            key = None if self._key is None else self._key(queued[0])
            if len(batch) == self._max_batch or (key is not None and key in keys):
                later.append(queued)
                continue
            batch.append(queued)
            if key is not None:
                keys.add(key)
        self._queued = later
        return batch

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = list(await self._flush([item for item, _ in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"a flush of {len(batch)} items gave {len(results)} results")
        except Exception as exc:
            results = [exc] * len(batch)
        except BaseException:  # cancelled (the loop ending): nobody is left to answer
            for _, future in batch + self._queued:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)
        failing = self._fails_queued
        outage = next((r for r in results if isinstance(r, Exception) and failing
                       and failing(r)), None)
        if outage is not None:
            queued, self._queued = self._queued, []
            for _, future in queued:
                _settle(future, outage)


def _settle(future: asyncio.Future[Result], result: Result | Exception) -> None:
    if future.done():  # its caller was cancelled
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
