"""Settling what archiving stops: the execution an archived workflow will never run again.

Archiving is one compare-and-set on the workflow, which keeps `trigger.execution_id` when
the workflow is not running: that id is the durable note of what is left to settle. Then
the execution is cancelled (inserted as cancelled if no runner created it: a trigger that
was answered 200 still leaves a record) and the note is cleared. The API does both at once;
the scheduler sweeps up what a crash between the steps, or a run that was in progress when
its workflow was archived, leaves behind.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.models import Execution, ExecutionStatus, Workflow, WorkflowStatus
from shared.ports import ArchivedRuns, ExecutionRepository

ARCHIVED_REASON = "workflow archived before the execution finished"


def cancelled_execution(workflow: Workflow, now: datetime) -> Execution | None:
    """The cancelled record of the execution an archived workflow stopped; None if none."""
    execution_id = workflow.trigger.execution_id
    if workflow.archived_at is None or workflow.status == WorkflowStatus.LOCKED:
        return None
    if execution_id is None:
        return None
    return Execution(
        id=execution_id, workflow_id=workflow.workflow_id, status=ExecutionStatus.CANCELLED,
        created_at=workflow.scheduled_at or workflow.archived_at, finished_at=now, retries=0,
        total_actions=len(workflow.actions), reason=ARCHIVED_REASON,
    )


async def settle_archived(
    workflow: Workflow, *, workflows: ArchivedRuns, executions: ExecutionRepository,
    now: datetime,
) -> Execution | None:
    """Cancel the execution `workflow` (archived) stopped, then clear it; the stored one."""
    cancelled = cancelled_execution(workflow, now)
    if cancelled is None:
        return None
    stored = await executions.cancel(cancelled)
    await workflows.clear_archived_execution(workflow.workflow_id, cancelled.id)
    return stored
