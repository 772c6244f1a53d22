"""Use cases of SPEC 12 on executions: list them all, retry, cancel, say why one waits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.execution_record import action_key
from shared.domain.graph import build_nodes, downstream
from shared.domain.lifecycle import transitions as lc
from shared.domain.models import (
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    TriggerStatus,
    Waiting,
    WaitReason,
    Workflow,
    WorkflowStatus,
)
from shared.domain.schedules import schedule_for
from shared.infra.logs import get_logger
from shared.ports import ApiWorkflows, Clock, ExecutionRepository, ExecutionRequestPublisher
from workflows_svc.service import Page

log = get_logger(__name__)
CANCELLED_REASON = "cancelled by request"
_RETRYABLE = (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


@dataclass(frozen=True)
class Cancelled:
    """A cancel's outcome: the execution, and whether it ended at once (else when the
    actions in flight end)."""

    execution: Execution
    at_once: bool


class ExecutionService:
    """Executions across workflows, and the operator's retry and cancel."""

    def __init__(
        self, *, workflows: ApiWorkflows, executions: ExecutionRepository,
        publisher: ExecutionRequestPublisher, clock: Clock, retries: int = 4,
    ) -> None:
        self._workflows = workflows
        self._executions = executions
        self._publisher = publisher
        self._clock = clock
        self._retries = retries

    async def list_all(
        self, *, workflow_id: str | None, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> Page[Execution]:
        """Every workflow's executions (or one's), newest first."""
        rows = await self._executions.list_executions(
            workflow_id=workflow_id, status=status, before=before, limit=limit + 1
        )
        return Page(rows[:limit], len(rows) > limit)

    async def waiting(self, executions: Sequence[Execution]) -> list[Waiting | None]:
        """Why each pending execution is not running: its own wait, or its workflow's backoff."""
        workflows: dict[str, Workflow | None] = {}
        found: list[Waiting | None] = []
        for execution in executions:
            if execution.waiting is not None or execution.status != ExecutionStatus.PENDING:
                found.append(execution.waiting)
                continue
            if execution.workflow_id not in workflows:
                workflows[execution.workflow_id] = await self._workflows.get(
                    execution.workflow_id)
            found.append(_backoff(workflows[execution.workflow_id], execution))
        return found

    async def retry(self, execution_id: str, from_action: str | None) -> Execution:
        """Run a failed or cancelled execution again: from what did not succeed, or from
        `from_action` and everything downstream of it; with a fresh retry budget."""
        execution = await self._get(execution_id)
        if execution.status not in _RETRYABLE:
            raise Conflict(f"execution is {execution.status.value}, not failed or cancelled",
                           status=execution.status.value)
        workflow = await self._workflow_of(execution)
        reset = _reset_from(workflow, from_action)
        params = {"now": self._clock.now(), "execution_id": execution.id}
        if not await self._workflows.apply(lc.CLAIM_RETRY, workflow.workflow_id, params):
            _refuse(await self._workflow_of(execution))
        reopened = await self._executions.reopen(execution.id, retries=self._retries,
                                                 reset_actions=reset)
        if reopened is None:  # retried concurrently: that retry holds the claim? not ours
            await self._undo(workflow.workflow_id, execution.id)
            raise Conflict("execution changed during the retry", status="busy")
        await self._publish(workflow.workflow_id, execution, reopened, reset)
        log.info("execution retried", execution_id=execution.id, from_action=from_action)
        return reopened

    async def cancel(self, execution_id: str) -> Cancelled:
        """Cancel a pending execution: at once when it waits, else after the actions in flight."""
        execution = await self._get(execution_id)
        if not await self._executions.request_cancel(execution.id):
            latest = await self._get(execution_id)
            raise Conflict(f"execution is {latest.status.value}", status=latest.status.value)
        workflow = await self._workflows.get(execution.workflow_id)
        if workflow is not None and _running(workflow, execution):
            log.info("execution cancel requested", execution_id=execution.id)
            return Cancelled(await self._get(execution_id), at_once=False)
        now = self._clock.now()
        stored = await self._executions.cancel(execution.model_copy(update={
            "status": ExecutionStatus.CANCELLED, "finished_at": now, "reason": CANCELLED_REASON,
        }))
        if workflow is not None:
            # Released after the execution is settled: a dispatch in between finds it settled.
            next_run = schedule_for(workflow.trigger).next_after(
                created_at=workflow.created_at, now=now)
            await self._workflows.apply(lc.CANCEL_WAITING, workflow.workflow_id,
                                        {"execution_id": execution.id, "next_run": next_run})
        log.info("execution cancelled", execution_id=execution.id)
        return Cancelled(stored, at_once=True)

    async def _publish(self, workflow_id: str, before: Execution, reopened: Execution,
                       reset: Sequence[str]) -> None:
        try:
            await self._publisher.publish(
                ExecutionRequest(workflow_id=workflow_id, execution_id=before.id))
        except Exception:
            # Put the execution back as it was, then give the workflow back.
            await self._executions.save_attempt(
                before, changed_actions=[k for k in reset if k in before.actions],
                expected_retries=reopened.retries)
            await self._undo(workflow_id, before.id)
            raise

    async def _undo(self, workflow_id: str, execution_id: str) -> None:
        await self._workflows.apply(lc.UNDO_TRIGGER, workflow_id, {"execution_id": execution_id})

    async def _get(self, execution_id: str) -> Execution:
        found = await self._executions.get(execution_id)
        if found is None:
            raise NotFound(f"execution {execution_id!r} not found")
        return found

    async def _workflow_of(self, execution: Execution) -> Workflow:
        workflow = await self._workflows.get(execution.workflow_id)
        if workflow is None:
            raise NotFound(f"workflow {execution.workflow_id!r} not found")
        return workflow


def _reset_from(workflow: Workflow, from_action: str | None) -> list[str]:
    """The record keys a retry `from` an action runs again (none without `from`)."""
    if from_action is None:
        return []
    keys = [action_key(a) for a in workflow.actions]
    if from_action not in keys:
        raise InvalidInput("from: the workflow has no such action")
    nodes = build_nodes([(action_key(a), getattr(a, "depends_on", None))
                         for a in workflow.actions])
    return sorted(downstream(nodes, from_action))


def _refuse(workflow: Workflow) -> None:
    if workflow.archived_at is not None:
        raise Conflict("workflow is archived", status="archived")
    if workflow.paused_at is not None:
        raise Conflict("workflow is paused", status="paused")
    raise Conflict("workflow is already running", status="busy")


def _running(workflow: Workflow, execution: Execution) -> bool:
    """Whether the workflow is dispatching or running `execution` (not waiting on it)."""
    return workflow.trigger.execution_id == execution.id and (
        workflow.status != WorkflowStatus.ACTIVE or workflow.trigger.status == TriggerStatus.BUSY
    )


def _backoff(workflow: Workflow | None, execution: Execution) -> Waiting | None:
    if workflow is None or workflow.trigger.execution_id != execution.id:
        return None
    if workflow.status != WorkflowStatus.ACTIVE or workflow.trigger.status != TriggerStatus.PENDING:
        return None
    return Waiting(reason=WaitReason.BACKOFF, until=workflow.trigger.next_run)
