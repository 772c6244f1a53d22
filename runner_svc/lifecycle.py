"""What the worker asks of SPEC 12's lifecycle: the version a run started with, and cancels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from shared.domain.execution_record import Keyed, still_to_run
from shared.domain.models import Execution, ExecutionStatus, Workflow
from shared.domain.versions import as_version, started_version
from shared.ports import ExecutionRepository, WorkflowVersions

CANCELLED_REASON = "cancelled by request"


class VersionMissing(Exception):
    """The version an execution started with is not kept (the attempt counts as interrupted)."""


async def definition_for(
    workflow: Workflow, execution: Execution, versions: WorkflowVersions | None
) -> Workflow:
    """`workflow` with the definition `execution` started with (a PUT may have replaced it)."""
    version = started_version(execution, workflow)
    if version is None or versions is None:
        return workflow
    kept = await versions.get_version(workflow.workflow_id, version)
    if kept is None:
        raise VersionMissing(f"version {version} of {workflow.workflow_id!r} is not kept")
    return as_version(workflow, kept)


async def cancel_asked(executions: ExecutionRepository, execution_id: str) -> bool:
    """Whether a cancel was asked for this execution (checked before each action starts)."""
    stored = await executions.get(execution_id)
    return stored is not None and stored.cancel_requested


async def honour_cancel(
    settled: Execution, actions: Sequence[Keyed], asked: Callable[[], Awaitable[bool]],
    now: datetime,
) -> Execution:
    """`settled` cancelled when a cancel was `asked` and actions were left unrun (or to retry)."""
    if settled.status == ExecutionStatus.FAILED or not still_to_run(actions, settled):
        return settled
    if not await asked():
        return settled
    return settled.model_copy(update={
        "status": ExecutionStatus.CANCELLED, "finished_at": now, "reason": CANCELLED_REASON,
    })
