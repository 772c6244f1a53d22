"""ExecutionWorker: claim a workflow, run its actions, record the attempt, release it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta

import structlog
from opentelemetry.trace import SpanKind

from runner_svc.actions import ActionRunner
from runner_svc.lifecycle import cancel_asked, definition_for, honour_cancel
from runner_svc.outcome import give_up, release_for, settle
from shared.domain.execution_record import (
    action_key,
    begin_attempt,
    failed_in_attempt,
    ready_to_run,
    with_run,
)
from shared.domain.models import (
    ActionResultStatus,
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    Workflow,
)
from shared.infra.logs import get_logger
from shared.infra.metrics import EXECUTIONS, SKIPPED_REQUESTS
from shared.infra.tracing import tracer
from shared.ports import Clock, ExecutionRepository, Leases, WorkflowVersions

log = get_logger(__name__)


class LeaseLost(Exception):
    """Another runner took this workflow over while this attempt ran."""


class ExecutionWorker:
    """Handles one ExecutionRequest end to end; safe to call with duplicates."""

    def __init__(
        self, *, workflows: Leases, executions: ExecutionRepository,
        actions: ActionRunner, clock: Clock, retries: int = 4, lease_s: float = 60.0,
        backoff_scale: float = 1.0, max_interrupted_attempts: int = 10,
        versions: WorkflowVersions | None = None,
    ) -> None:
        self._versions = versions
        self._workflows = workflows
        self._executions = executions
        self._actions = actions
        self._clock = clock
        self._retries = retries
        self._lease = timedelta(seconds=lease_s)
        self._backoff_scale = backoff_scale
        self._max_interrupted = max_interrupted_attempts

    async def run(self, request: ExecutionRequest) -> Execution | None:
        """Execute the workflow if this request can claim it; None when it cannot."""
        token = uuid.uuid4().hex
        workflow = await self._workflows.lock(
            request.workflow_id, token=token, lease_until=self._clock.now() + self._lease
        )
        if workflow is None:
            SKIPPED_REQUESTS.inc()
            log.info("request skipped: workflow not claimable", workflow_id=request.workflow_id)
            return None
        execution_id = (
            workflow.trigger.execution_id or request.execution_id or str(uuid.uuid4())
        )
        with structlog.contextvars.bound_contextvars(
            workflow_id=workflow.workflow_id, execution_id=execution_id
        ), tracer().start_as_current_span("execution", kind=SpanKind.CONSUMER, attributes={
            "workflow.id": workflow.workflow_id, "execution.id": execution_id,
        }):
            return await self._run_locked(workflow, token, execution_id)

    async def _run_locked(
        self, workflow: Workflow, token: str, execution_id: str
    ) -> Execution | None:
        attempt_over = asyncio.Event()
        heartbeat = asyncio.create_task(
            self._keep_lease(workflow.workflow_id, token, attempt_over)
        )
        retries_before, execution = self._retries, None
        status: ExecutionStatus | None = None
        try:
            execution = await self._executions.get_or_create(
                self._fresh(workflow, execution_id)
            )
            retries_before = execution.retries
            if execution.status != ExecutionStatus.PENDING:
                # Settled already (its runner lost the lock before releasing): do not repeat.
                status = execution.status
                return execution
            workflow = await definition_for(workflow, execution, self._versions)
            execution = await self._attempt_or_give_up(workflow, execution)
            status = execution.status
            EXECUTIONS.labels(status.value).inc()
            return execution
        except Exception:
            log.exception("attempt interrupted; it will be retried",
                          interrupted_attempts=workflow.trigger.interrupted_attempts + 1)
            return None
        finally:
            # Not cancelled: a PyMongo operation cancelled mid-flight can wedge the client
            # (see shared.web.ops._passed); the heartbeat ends after its current write.
            attempt_over.set()
            await heartbeat
            release = release_for(
                workflow, token=token, execution_id=execution_id,
                retries_before=retries_before, status=status, now=self._clock.now(),
                backoff_scale=self._backoff_scale,
            )
            if not await self._workflows.release(release):
                log.warning("release found the lock taken over (lease expired)")

    def _fresh(self, workflow: Workflow, execution_id: str) -> Execution:
        return Execution(
            id=execution_id, workflow_id=workflow.workflow_id, created_at=self._clock.now(),
            retries=self._retries, total_actions=len(workflow.actions),
            workflow_version=workflow.version,
        )

    async def _attempt_or_give_up(self, workflow: Workflow, execution: Execution) -> Execution:
        """An attempt, unless too many before it were interrupted: then fail the execution."""
        interrupted = workflow.trigger.interrupted_attempts
        if interrupted < self._max_interrupted:
            return await self._attempt(workflow, execution)
        log.warning("execution failed: too many interrupted attempts",
                    interrupted_attempts=interrupted)
        return await self._save(give_up(execution, interrupted, self._clock.now()), execution)

    async def _attempt(self, workflow: Workflow, execution: Execution) -> Execution:
        """Run the actions that have not succeeded; the first failure stops the attempt."""
        ran, current = await self._run_actions(workflow, begin_attempt(execution))
        settled = await honour_cancel(
            settle(current, self._clock.now()), workflow.actions, self._executions,
            self._clock.now(),
        )
        await self._save(settled, execution, changed_actions=ran)
        log.info("attempt finished", status=settled.status.value, retries=settled.retries,
                 failed_action=failed_in_attempt(settled))
        return settled

    async def _run_actions(
        self, workflow: Workflow, execution: Execution
    ) -> tuple[list[str], Execution]:
        """One at a time, each once, in definition order as their dependencies allow."""
        ran: list[str] = []
        while batch := ready_to_run(workflow.actions, execution, ran):
            if await cancel_asked(self._executions, execution.id):
                break
            action = batch[0]
            started_at = self._clock.now()
            result = await self._actions.run(action)
            execution = with_run(
                execution, action, result, started_at=started_at, finished_at=self._clock.now()
            )
            ran.append(action_key(action))
            if result.status != ActionResultStatus.OK:
                break
        return ran, execution

    async def _save(
        self, settled: Execution, before: Execution, *, changed_actions: Sequence[str] = ()
    ) -> Execution:
        """Persist an attempt's outcome: a compare-and-set on the execution it continued."""
        saved = await self._executions.save_attempt(
            settled, changed_actions=changed_actions, expected_retries=before.retries,
        )
        if not saved:
            raise LeaseLost("the execution changed during this attempt; its result is dropped")
        return settled

    async def _keep_lease(self, workflow_id: str, token: str, over: asyncio.Event) -> None:
        """Extend the lock's lease while the attempt runs, so only a dead runner loses it."""
        period_s = self._lease.total_seconds() / 3
        while True:
            try:
                await asyncio.wait_for(over.wait(), timeout=period_s)
                return
            except TimeoutError:
                pass
            try:
                await self._workflows.extend_lease(
                    workflow_id, token=token, lease_until=self._clock.now() + self._lease
                )
            except Exception as exc:
                log.warning("lease extension failed", error=repr(exc))
