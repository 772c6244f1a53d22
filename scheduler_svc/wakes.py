"""Waking executions parked on a delay or a signal whose time has come (SPEC 11).

A woken workflow keeps its execution (as a retry does) and is dispatched as `scheduled`; the
runner that claims it continues the parked attempt. Paged like the due dispatch, so any
number of waiting executions wake without being loaded at once, and claimed a batch at a
time (`wake_many`: one round trip for the batch).
"""

from __future__ import annotations

from datetime import datetime

from scheduler_svc.due import slot_after_dispatch
from shared.domain.models import ExecutionRequest
from shared.ports import DueWorkflow, ExecutionRequestPublisher, SchedulerWorkflows, WakeClaim


async def wake_due(
    workflows: SchedulerWorkflows, publisher: ExecutionRequestPublisher, now: datetime, *,
    batch_size: int,
) -> tuple[int, int]:
    """Wake every waiting workflow whose wake time passed; (woken, not acknowledged)."""
    woken = unacked = 0
    after: DueWorkflow | None = None
    while batch := await workflows.find_waking(now, after=after, limit=batch_size):
        wakes = [
            WakeClaim(due.workflow_id, due.execution_id, now, slot_after_dispatch(due, now))
            for due in batch if due.execution_id is not None
        ]
        won = await workflows.wake_many(wakes)
        requests = [
            ExecutionRequest(workflow_id=w.workflow_id, execution_id=w.execution_id)
            for w, ok in zip(wakes, won, strict=True) if ok
        ]
        if requests:
            acked = await publisher.publish_many(requests)
            woken += acked.count(True)
            unacked += acked.count(False)  # left scheduled: the stuck recovery sends them
        if len(batch) < batch_size:
            break
        after = batch[-1]
    return woken, unacked
