"""Waking executions parked on a delay or a signal whose time has come (SPEC 11).

A woken workflow keeps its execution (as a retry does) and is dispatched as `scheduled`; the
runner that claims it continues the parked attempt. Paged like the due dispatch, so any
number of waiting executions wake without being loaded at once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from shared.domain.models import ExecutionRequest
from shared.ports import DueWorkflow, ExecutionRequestPublisher, SchedulerWorkflows

WAKE_CONCURRENCY = 32


async def wake_due(
    workflows: SchedulerWorkflows, publisher: ExecutionRequestPublisher, now: datetime, *,
    batch_size: int,
) -> tuple[int, int]:
    """Wake every waiting workflow whose wake time passed; (woken, not acknowledged)."""
    woken = unacked = 0
    after: DueWorkflow | None = None
    gate = asyncio.Semaphore(WAKE_CONCURRENCY)

    async def one(due: DueWorkflow) -> ExecutionRequest | None:
        async with gate:
            return await _wake(workflows, due, now)

    while batch := await workflows.find_waking(now, after=after, limit=batch_size):
        requests = [r for r in await asyncio.gather(*(one(d) for d in batch)) if r]
        if requests:
            acked = await publisher.publish_many(requests)
            woken += acked.count(True)
            unacked += acked.count(False)  # left scheduled: the stuck recovery sends them
        if len(batch) < batch_size:
            break
        after = batch[-1]
    return woken, unacked


async def _wake(
    workflows: SchedulerWorkflows, due: DueWorkflow, now: datetime
) -> ExecutionRequest | None:
    if due.execution_id is None:
        return None
    next_run = due.schedule.next_after(created_at=due.created_at, now=now)
    if not await workflows.wake(
        due.workflow_id, execution_id=due.execution_id, now=now, next_run=next_run
    ):
        return None
    return ExecutionRequest(workflow_id=due.workflow_id, execution_id=due.execution_id)
