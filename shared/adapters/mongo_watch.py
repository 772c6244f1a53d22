"""Wake-ups from a MongoDB change stream: every `trigger.next_run` written to `workflows`.

The scheduler polls at least every `SCHEDULER_INTERVAL`; this stream lets it wake at once for
a run that became due sooner (a new workflow, a release, a retry), so it never waits a whole
interval. A server without change streams (a standalone mongod) leaves polling alone.

It stops on `stop()`, between two waits of at most `max_await_ms`, and is never cancelled:
on Python 3.11 a cancellation of a PyMongo operation can be swallowed (an `asyncio.wait_for`
race inside the driver), after which a stream read in a loop runs on forever and the
scheduler's shutdown hangs (reproduced under load; `tests/unit/test_scheduler_wakeups.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure, PyMongoError

from shared.domain.models import WorkflowStatus
from shared.infra.logs import get_logger

log = get_logger(__name__)
Doc = dict[str, Any]

# Server-side: only the events that set a date in trigger.next_run reach the scheduler.
# Updates write "trigger.next_run" as a dotted key (read with $getField) or a whole "trigger".
# Not a claim's (status -> scheduled): nothing dispatches a scheduled workflow, and the
# claimer's own `earliest_next_run` after its tick has that slot; so a batch of claims
# (thousands of updates) does not stream back to every scheduler.
_UPDATED = "$updateDescription.updatedFields"
NEXT_RUN_PIPELINE: list[Doc] = [
    {"$match": {"operationType": {"$in": ["insert", "replace", "update"]},
                "updateDescription.updatedFields.status": {"$ne": WorkflowStatus.SCHEDULED.value}}},
    {"$project": {"next_run": {"$cond": [
        {"$eq": ["$operationType", "update"]},
        {"$ifNull": [
            {"$getField": {"field": "trigger.next_run", "input": _UPDATED}},
            f"{_UPDATED}.trigger.next_run",
        ]},
        "$fullDocument.trigger.next_run",
    ]}}},
    {"$match": {"next_run": {"$type": "date"}}},
]
NOT_A_REPLICA_SET = {40573, 40324}  # "only supported on replica sets", unrecognised stage
HISTORY_LOST = {286, 280}  # ChangeStreamHistoryLost, ChangeStreamFatalError
MAX_RETRY_DELAY_S = 10.0


class MongoNextRunWatch:
    """NextRunWatch on a change stream of the `workflows` collection."""

    def __init__(self, collection: AsyncCollection[Doc], *, max_await_ms: int = 500) -> None:
        self._col = collection
        self._max_await_ms = max_await_ms
        self._stopping = asyncio.Event()
        self.available = True

    def stop(self) -> None:
        """End `run` after the read in progress (at most `max_await_ms`)."""
        self._stopping.set()

    async def run(self, on_next_run: Callable[[datetime], None]) -> None:
        """Report each next_run written, until `stop()`; resume after transient errors."""
        resume_token: Mapping[str, Any] | None = None
        delay_s = 0.5
        while not self._stopping.is_set():
            try:
                async with await self._col.watch(
                    NEXT_RUN_PIPELINE, resume_after=resume_token,
                    max_await_time_ms=self._max_await_ms,
                ) as stream:
                    log.info("watching next_run changes", resumed=resume_token is not None)
                    delay_s = 0.5
                    while stream.alive and not self._stopping.is_set():
                        change = await stream.try_next()  # None after max_await_ms
                        resume_token = stream.resume_token
                        if change is not None:
                            on_next_run(change["next_run"])
            except OperationFailure as exc:
                if exc.code in NOT_A_REPLICA_SET:
                    self.available = False
                    log.warning("change streams unavailable; the scheduler polls only",
                                error=str(exc))
                    return
                if exc.code in HISTORY_LOST:
                    resume_token = None  # the oplog moved on: start from now; polling covers
                delay_s = await self._pause(exc, delay_s)
            except PyMongoError as exc:
                delay_s = await self._pause(exc, delay_s)

    async def _pause(self, exc: Exception, delay_s: float) -> float:
        """Wait `delay_s` (or until `stop()`) before resuming; the next, longer delay."""
        if self._stopping.is_set():
            return delay_s
        log.warning("change stream interrupted; resuming", error=repr(exc), retry_in_s=delay_s)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay_s):
                await self._stopping.wait()
        return min(delay_s * 2, MAX_RETRY_DELAY_S)
