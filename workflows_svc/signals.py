"""Use case: deliver a signal to an execution parked on `wait-for-signal` (SPEC 11)."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.domain.errors import Conflict, NotFound
from shared.domain.execution_record import waiting_for_signal
from shared.domain.lifecycle import transitions as lc
from shared.domain.models import ExecutionRequest, ExecutionStatus, TriggerStatus
from shared.domain.schedules import schedule_for
from shared.infra.logs import get_logger
from shared.ports import ApiWorkflows, Clock, ExecutionRepository, ExecutionRequestPublisher

log = get_logger(__name__)
# A runner may hold the workflow for a moment (a duplicate request that found nothing to
# do and parks it again): the wake is tried again for about this long.
WAKE_TRIES = 20
WAKE_RETRY_S = 0.25


class SignalService:
    """Stores a signal's payload on the action waiting for it and wakes its execution."""

    def __init__(self, *, workflows: ApiWorkflows, executions: ExecutionRepository,
                 publisher: ExecutionRequestPublisher, clock: Clock) -> None:
        self._workflows = workflows
        self._executions = executions
        self._publisher = publisher
        self._clock = clock

    async def deliver(self, execution_id: str, signal: str, payload: Any) -> str:
        """Deliver `payload`; the name of the action that received it.

        404 for an unknown execution; 409 unless it is parked on `signal` (not yet delivered).
        """
        execution = await self._executions.get(execution_id)
        if execution is None:
            raise NotFound(f"execution {execution_id!r} not found")
        key = waiting_for_signal(execution, signal)
        if execution.status != ExecutionStatus.PENDING or key is None:
            raise Conflict(f"execution {execution_id!r} is not waiting for signal {signal!r}",
                           status="not_waiting")
        if not await self._executions.deliver_signal(execution_id, key, signal, payload):
            raise Conflict(f"execution {execution_id!r} is not waiting for signal {signal!r}",
                           status="not_waiting")
        await self._wake(execution.workflow_id, execution_id)
        log.info("signal delivered", execution_id=execution_id, signal=signal, action=key)
        return key

    async def _wake(self, workflow_id: str, execution_id: str) -> None:
        """Dispatch the parked execution again (the payload is stored: a later wake finds it)."""
        for _ in range(WAKE_TRIES):
            workflow = await self._workflows.get(workflow_id)
            if workflow is None or workflow.trigger.execution_id != execution_id:
                return
            now = self._clock.now()
            next_run = schedule_for(workflow.trigger).next_after(
                created_at=workflow.created_at, now=now
            )
            if await self._workflows.wake(
                workflow_id, execution_id=execution_id, now=now, next_run=next_run
            ):
                # Unacknowledged: left scheduled, the scheduler's stuck recovery sends it.
                await self._publisher.publish_many(
                    [ExecutionRequest(workflow_id=workflow_id, execution_id=execution_id)]
                )
                return
            if workflow.trigger.status == TriggerStatus.BUSY:
                await asyncio.sleep(WAKE_RETRY_S)  # a runner holds it: it may park it again
                continue
            if workflow.paused_at is None:
                return
            params = {"execution_id": execution_id, "now": now}
            if await self._workflows.apply(lc.WAKE_ON_RESUME, workflow_id, params):
                log.info("signal for a paused workflow: it wakes when resumed",
                         workflow_id=workflow_id, execution_id=execution_id)
                return
            # Not paused any more (or no longer waiting): look again.
