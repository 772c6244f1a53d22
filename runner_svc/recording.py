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
    """A new execution, inserted when its attempt ends or after `after_s`, whichever is first."""

    def __init__(self, executions: ExecutionRepository, fresh: Execution, after_s: float):
        self._executions = executions
        self._fresh = fresh
        self._after_s = after_s
        self._over = asyncio.Event()
        self._stored = False
        self._saved = False
        self._insert = asyncio.create_task(self._insert_when_due())

    async def _insert_when_due(self) -> bool | None:
        """True: inserted pending; False: an execution with its id was there; None: the
        attempt ended first."""
        try:
            await asyncio.wait_for(self._over.wait(), timeout=self._after_s)
            return None
        except TimeoutError:
            pass
        inserted = self._stored = await self._executions.insert(self._fresh)
        if not inserted:
            log.warning("a new execution's id was stored already; this attempt's result "
                        "will be dropped")
        return inserted

    async def save(self, settled: Execution, *, changed_actions: Collection[str]) -> bool:
        self._over.set()
        inserted = await self._insert  # its error interrupts the attempt, as a save's would
        if inserted is None:
            self._saved = True  # tried: whatever the outcome, nothing is left to insert
            return await self._executions.insert(settled)
        if not inserted:
            return False
        return await self._executions.save_attempt(
            settled, changed_actions=changed_actions, expected_retries=self._fresh.retries,
        )

    async def cancel_asked(self) -> bool:
        if not self._stored:
            return False  # not stored (yet): no cancel can have been asked
        return await cancel_asked(self._executions, self._fresh.id)

    async def close(self) -> None:
        """End the timer (an insert under way is awaited, never cancelled: PyMongo); an
        attempt interrupted before anything was stored leaves its execution pending, stored,
        as it would be had it been inserted first (its retry then continues it)."""
        self._over.set()
        try:
            if await self._insert is None and not self._saved:
                await self._executions.insert(self._fresh)
        except Exception as exc:  # the retry inserts it (get_or_create)
            log.info("deferred insert failed", error=repr(exc))


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
