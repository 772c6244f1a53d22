"""ExecutionWorker: claim a workflow, run its actions, record the attempt, release it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta

import structlog
from opentelemetry.trace import SpanKind

from runner_svc.actions import ActionRunner
from runner_svc.attempt import AttemptRunner, CancelCheck
from runner_svc.lifecycle import definition_for, honour_cancel
from runner_svc.outcome import give_up, is_parked, release_for, retry_at, settle
from runner_svc.recording import ExecutionRecord, execution_record
from runner_svc.retries import initial_retries, next_delay_s, retries_again
from shared.domain.execution_record import begin_attempt, failed_in_attempt
from shared.domain.inputs import execution_input
from shared.domain.models import (
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    WaitReason,
    Workflow,
)
from shared.infra.logs import get_logger
from shared.infra.metrics import EXECUTIONS, SKIPPED_REQUESTS, SKIPPED_SLOTS
from shared.infra.tracing import span
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
        max_parallel_actions: int = 8, action_slots: asyncio.Semaphore | None = None,
        versions: WorkflowVersions | None = None, cancel_poll_s: float = 0.25,
        record_after_s: float = 0.0,
    ) -> None:
        self._workflows = workflows
        self._executions = executions
        self._attempts = AttemptRunner(
            actions=actions, clock=clock, max_parallel=max_parallel_actions,
            slots=action_slots or asyncio.Semaphore(max_parallel_actions * 16),
        )
        self._clock = clock
        self._versions = versions
        self._cancel_poll = timedelta(seconds=cancel_poll_s)
        self._retries = retries
        self._lease = timedelta(seconds=lease_s)
        self._backoff_scale = backoff_scale
        self._max_interrupted = max_interrupted_attempts
        self._record_after_s = record_after_s

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
        ), span("execution", kind=SpanKind.CONSUMER, attributes={
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
        outcome: Execution | None = None
        try:
            async with execution_record(
                self._executions, workflow, self._fresh(workflow, execution_id),
                record_after_s=self._record_after_s,
            ) as (record, execution):
                retries_before = execution.retries
                if execution.status != ExecutionStatus.PENDING:
                    # Settled already (its runner lost the lock before releasing): no repeat.
                    status = execution.status
                    return execution
                workflow = await definition_for(workflow, execution, self._versions)
                outcome = await self._attempt_or_give_up(workflow, execution, record)
            status = outcome.status
            EXECUTIONS.labels(status.value).inc()
            return outcome
        except Exception:
            log.exception("attempt interrupted; it will be retried",
                          interrupted_attempts=workflow.trigger.interrupted_attempts + 1)
            return None
        finally:
            # Not cancelled: a PyMongo operation cancelled mid-flight can wedge the client
            # (see shared.web.ops._passed); the heartbeat ends after its current write.
            attempt_over.set()
            await heartbeat
            await self._let_go(workflow, token, execution_id, retries_before, status, outcome)

    async def _let_go(
        self, workflow: Workflow, token: str, execution_id: str, retries_before: int,
        status: ExecutionStatus | None, outcome: Execution | None,
    ) -> None:
        """Park the workflow on its execution's wait, or release it (idle or for a retry)."""
        if outcome is not None and outcome.waiting is not None and is_parked(outcome):
            parked = await self._workflows.park(
                workflow.workflow_id, token=token, wake_at=outcome.waiting.until
            )
            if not parked:
                log.warning("park found the lock taken over (lease expired)")
            return
        next_retry = outcome.waiting.until if outcome and outcome.waiting else None
        release = release_for(
            workflow, token=token, execution_id=execution_id,
            retries_before=retries_before, status=status, now=self._clock.now(),
            backoff_scale=self._backoff_scale, next_retry=next_retry,
            run_started_at=outcome.created_at if outcome else None,
        )
        if not await self._workflows.release(release):
            log.warning("release found the lock taken over (lease expired)")
        elif release.skipped_slots:
            SKIPPED_SLOTS.labels("overlap").inc(release.skipped_slots)

    def _fresh(self, workflow: Workflow, execution_id: str) -> Execution:
        return Execution(
            id=execution_id, workflow_id=workflow.workflow_id, created_at=self._clock.now(),
            retries=initial_retries(workflow, self._retries), total_actions=len(workflow.actions),
            input=execution_input(workflow), workflow_version=workflow.version,
        )

    async def _attempt_or_give_up(
        self, workflow: Workflow, execution: Execution, record: ExecutionRecord
    ) -> Execution:
        """An attempt, unless too many before it were interrupted: then fail the execution."""
        interrupted = workflow.trigger.interrupted_attempts
        if interrupted < self._max_interrupted:
            return await self._attempt(workflow, execution, record)
        log.warning("execution failed: too many interrupted attempts",
                    interrupted_attempts=interrupted)
        return await _save(record, give_up(execution, interrupted, self._clock.now()))

    async def _attempt(
        self, workflow: Workflow, execution: Execution, record: ExecutionRecord
    ) -> Execution:
        """Run the actions that have not succeeded; a failure stops new starts, a wait parks.

        A wake after a delay or a signal continues the attempt that parked."""
        waiting = execution.waiting
        resumed = waiting is not None and waiting.reason != WaitReason.BACKOFF
        start = execution if resumed else begin_attempt(execution)
        ran, current = await self._attempts.run(
            workflow, start, cancelled=self._cancel_check(record)
        )
        now = self._clock.now()
        delay_s = next_delay_s(workflow, current, self._retries, self._backoff_scale)
        settled = await honour_cancel(settle(
            current, now, retries_again(workflow, current, self._retries),
            retry_at(execution.retries, now, self._backoff_scale, delay_s),
        ), workflow.actions, record.cancel_asked, now)
        await _save(record, settled, changed_actions=ran)
        log.info("attempt finished", status=settled.status.value, retries=settled.retries,
                 failed_action=failed_in_attempt(settled), parked=is_parked(settled))
        return settled

    def _cancel_check(self, record: ExecutionRecord) -> CancelCheck:
        """Whether a cancel was asked, read at most every `cancel_poll_s` of the attempt: a
        run shorter than that costs no extra read (the record's round trips stay 3 or 4)."""
        checked_at = self._clock.now()

        async def cancelled() -> bool:
            nonlocal checked_at
            if self._clock.now() - checked_at < self._cancel_poll:
                return False
            checked_at = self._clock.now()
            return await record.cancel_asked()

        return cancelled

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


async def _save(
    record: ExecutionRecord, settled: Execution, *, changed_actions: Sequence[str] = ()
) -> Execution:
    """Persist an attempt's outcome: a compare-and-set on the execution it continued."""
    if not await record.save(settled, changed_actions=changed_actions):
        raise LeaseLost("the execution changed during this attempt; its result is dropped")
    return settled
