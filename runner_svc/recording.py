"""Where an attempt's execution is stored: before the attempt, or once it has run a while.

A new execution (`trigger.fresh_execution`, no attempt of it interrupted) has no stored
record yet, so its insert can wait: an attempt that ends within `record_after_s` is stored
once, settled, by one insert (3 round trips per execution instead of 4: lock, insert,
release); a longer one is inserted, pending, when that time is up, so that it can be read
and cancelled while it runs. Anything else continues a stored execution.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Protocol

from runner_svc.lifecycle import cancel_asked
from shared.domain.models import Execution, Workflow
from shared.infra.logs import get_logger
from shared.ports import ExecutionRepository

log = get_logger(__name__)


class ExecutionRecord(Protocol):
    """The stored side of one attempt's execution."""

    async def save(self, settled: Execution, *, changed_actions: Collection[str]) -> bool:
        """Store the attempt's outcome; False when another attempt's record is in the way."""
        ...

    async def cancel_asked(self) -> bool:
        """Whether a cancel was asked for the execution (no read while it is not stored)."""
        ...


def defers_insert(workflow: Workflow) -> bool:
    """Whether the execution this lock runs cannot have been stored by any attempt yet."""
    trigger = workflow.trigger
    return trigger.fresh_execution and trigger.interrupted_attempts == 0


class StoredRecord:
    """An execution stored before its attempt: saved by a compare-and-set on it."""

    def __init__(self, executions: ExecutionRepository, before: Execution) -> None:
        self._executions = executions
        self._before = before

    async def save(self, settled: Execution, *, changed_actions: Collection[str]) -> bool:
        return await self._executions.save_attempt(
            settled, changed_actions=changed_actions, expected_retries=self._before.retries,
        )

    async def cancel_asked(self) -> bool:
        return await cancel_asked(self._executions, self._before.id)


class DeferredRecord:
    """A new execution, inserted when its attempt ends or after `after_s`, whichever is first.

    The pending insert is a timer, not a task: a run that ends sooner costs no task."""

    def __init__(self, executions: ExecutionRepository, fresh: Execution, after_s: float):
        self._executions = executions
        self._fresh = fresh
        self._pending_insert: asyncio.Task[bool] | None = None
        self._written = False  # the settled execution's insert was tried
        self._timer = asyncio.get_running_loop().call_later(after_s, self._insert_pending)

    def _insert_pending(self) -> None:
        self._pending_insert = asyncio.ensure_future(self._executions.insert(self._fresh))
        self._pending_insert.add_done_callback(_warn_if_taken)

    async def save(self, settled: Execution, *, changed_actions: Collection[str]) -> bool:
        self._timer.cancel()
        if self._pending_insert is None:
            self._written = True
            return await self._executions.insert(settled)
        if not await self._pending_insert:  # its error interrupts the attempt, as a save's would
            return False
        return await self._executions.save_attempt(
            settled, changed_actions=changed_actions, expected_retries=self._fresh.retries,
        )

    async def cancel_asked(self) -> bool:
        if not _inserted(self._pending_insert):
            return False  # not stored (yet): no cancel can have been asked
        return await cancel_asked(self._executions, self._fresh.id)

    async def close(self) -> None:
        """End the timer (an insert under way is awaited, never cancelled: PyMongo); an
        attempt interrupted before anything was stored leaves its execution pending, stored,
        as it would be had it been inserted first (its retry then continues it)."""
        self._timer.cancel()
        try:
            if self._pending_insert is not None:
                await self._pending_insert
            elif not self._written:
                await self._executions.insert(self._fresh)
        except Exception as exc:  # the retry inserts it (get_or_create)
            log.info("deferred insert failed", error=repr(exc))


def _inserted(insert: asyncio.Future[bool] | None) -> bool | None:
    """The pending insert's outcome: True stored, False its id was taken, None not (yet)."""
    if insert is None or not insert.done() or insert.cancelled() or insert.exception():
        return None
    return insert.result()


def _warn_if_taken(insert: asyncio.Future[bool]) -> None:
    if _inserted(insert) is False:
        log.warning("a new execution's id was stored already; this attempt's result will be "
                    "dropped")


@asynccontextmanager
async def execution_record(
    executions: ExecutionRepository, workflow: Workflow, fresh: Execution, *,
    record_after_s: float,
) -> AsyncIterator[tuple[ExecutionRecord, Execution]]:
    """The record for this lock's attempt and the execution it continues: `fresh` deferred
    when `defers_insert` (and `record_after_s` > 0), else the stored one (`fresh` inserted
    if none is stored)."""
    if record_after_s > 0 and defers_insert(workflow):
        deferred = DeferredRecord(executions, fresh, record_after_s)
        try:
            yield deferred, fresh
        finally:
            await deferred.close()
        return
    stored = await executions.get_or_create(fresh)
    yield StoredRecord(executions, stored), stored
