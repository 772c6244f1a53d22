"""Use cases of the workflows API: define, read, trigger and archive workflows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from shared.domain.definition import TriggerSpec, WorkflowDefinition
from shared.domain.errors import Conflict, InvalidInput, NotFound, RateLimited
from shared.domain.models import (
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    RateWindow,
    Trigger,
    TriggerStatus,
    TriggerType,
    Workflow,
    WorkflowStatus,
)
from shared.domain.schedules import schedule_for
from shared.domain.timing import MAX_INTERVAL_MS, parse_interval_ms, rate_window_start
from shared.infra.logs import get_logger
from shared.infra.metrics import TRIGGERS
from shared.ports import (
    ApiWorkflows,
    Clock,
    ExecutionRepository,
    ExecutionRequestPublisher,
    TriggerClaim,
    WorkflowFilter,
)
from shared.service_layer.settle import settle_archived

log = get_logger(__name__)
RATE_WINDOW_S = 60


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


class WorkflowService:
    """Workflow definitions and manual triggers."""

    def __init__(
        self, *, workflows: ApiWorkflows, executions: ExecutionRepository,
        publisher: ExecutionRequestPublisher, clock: Clock,
        min_interval_s: float = 1.0, trigger_rate_limit: int = 60,
    ) -> None:
        self._workflows = workflows
        self._executions = executions
        self._publisher = publisher
        self._clock = clock
        self._min_interval_ms = int(min_interval_s * 1000)
        self._rate_limit = trigger_rate_limit

    def now(self) -> datetime:
        return self._clock.now()

    async def create(self, definition: WorkflowDefinition) -> Workflow:
        """Validate the definition's time rules and store it idle."""
        workflow = self.build(definition, self._clock.now())
        await self._workflows.create(workflow)
        log.info("workflow created", workflow_id=workflow.workflow_id)
        return workflow

    def build(self, definition: WorkflowDefinition, now: datetime) -> Workflow:
        """The workflow `definition` defines at `now` (also what a PUT stores), checked."""
        trigger = self._trigger(definition.trigger, now)
        return Workflow(
            workflow_id=definition.workflow_id, created_at=now, trigger=trigger,
            actions=definition.actions,
        )

    def _trigger(self, spec: TriggerSpec, now: datetime) -> Trigger:
        if spec.type == TriggerType.MANUAL:
            if spec.interval is not None:
                raise InvalidInput("trigger.interval is only allowed for periodic workflows")
            return Trigger(type=TriggerType.MANUAL)
        if spec.interval is None:
            raise InvalidInput("trigger.interval is required for periodic workflows")
        interval_ms = parse_interval_ms(spec.interval)
        if interval_ms is None:
            raise InvalidInput(
                f"trigger.interval {spec.interval!r} must be a positive integer followed by "
                "s, m or h, e.g. '30s', '5m', '1h'"
            )
        if interval_ms > MAX_INTERVAL_MS:
            raise InvalidInput("trigger.interval must be at most 366 days")
        if interval_ms < self._min_interval_ms:
            raise InvalidInput(
                f"trigger.interval must be at least {self._min_interval_ms / 1000:g}s"
            )
        trigger = Trigger(
            type=TriggerType.PERIODIC, interval=spec.interval, interval_ms=interval_ms
        )
        trigger.next_run = schedule_for(trigger).first_run(created_at=now, now=now)
        return trigger

    async def get(self, workflow_id: str) -> Workflow:
        workflow = await self._workflows.get(workflow_id)
        if workflow is None:
            raise NotFound(f"workflow {workflow_id!r} not found")
        return workflow

    async def list(self, *, after_id: str | None, limit: int,
                   filters: WorkflowFilter | None = None) -> Page[Workflow]:
        rows = await self._workflows.list_after(
            after_id=after_id, limit=limit + 1, filters=filters
        )
        return Page(rows[:limit], len(rows) > limit)

    async def archive(self, workflow_id: str) -> None:
        """Archive, and cancel the execution it stops (none while a runner holds it)."""
        now = self._clock.now()
        archived = await self._workflows.archive(workflow_id, now)
        if archived is None:
            raise NotFound(f"workflow {workflow_id!r} not found")
        cancelled = await settle_archived(
            archived, workflows=self._workflows, executions=self._executions, now=now
        )
        log.info("workflow archived", workflow_id=workflow_id,
                 cancelled_execution_id=cancelled.id if cancelled else None)

    async def trigger(self, workflow_id: str) -> str:
        """Claim the workflow and produce its request; the new execution's id."""
        now = self._clock.now()
        claim = TriggerClaim(
            workflow_id=workflow_id, execution_id=str(uuid.uuid4()), now=now,
            window_start=rate_window_start(now, RATE_WINDOW_S), rate_limit=self._rate_limit,
        )
        if not await self._workflows.claim_for_trigger(claim):
            await self._refuse(claim)
        try:
            await self._publisher.publish(
                ExecutionRequest(workflow_id=workflow_id, execution_id=claim.execution_id)
            )
        except Exception:
            TRIGGERS.labels("unavailable").inc()
            await self._workflows.undo_trigger_claim(claim)
            raise
        TRIGGERS.labels("accepted").inc()
        log.info("workflow triggered", workflow_id=workflow_id, execution_id=claim.execution_id)
        return claim.execution_id

    async def _refuse(self, claim: TriggerClaim) -> None:
        """Explain why a claim failed, as the matching domain error."""
        workflow = await self.get(claim.workflow_id)
        outcome, error = _refusal(workflow, claim)
        TRIGGERS.labels(outcome).inc()
        raise error

    async def executions(
        self, workflow_id: str, *, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> Page[Execution]:
        await self.get(workflow_id)
        rows = await self._executions.list_for_workflow(
            workflow_id, status=status, before=before, limit=limit + 1
        )
        return Page(rows[:limit], len(rows) > limit)

    async def execution(self, execution_id: str) -> Execution:
        found = await self._executions.get(execution_id)
        if found is None:
            raise NotFound(f"execution {execution_id!r} not found")
        return found


def _refusal(workflow: Workflow, claim: TriggerClaim) -> tuple[str, Exception]:
    trigger = workflow.trigger
    if workflow.archived_at is not None:
        return "archived", Conflict("workflow is archived", status="archived")
    if workflow.paused_at is not None:
        return "paused", Conflict("workflow is paused", status="paused")
    if trigger.type == TriggerType.PERIODIC:
        return "periodic", InvalidInput("Periodic workflows cannot be triggered manually")
    if trigger.status == TriggerStatus.PENDING:
        return "pending", Conflict(
            "workflow is waiting to retry a failed execution",
            status="pending", next_retry_at=trigger.next_run,
        )
    if trigger.status == TriggerStatus.BUSY or workflow.status != WorkflowStatus.ACTIVE:
        return "busy", Conflict("workflow is already running", status="busy")
    rate = workflow.rate
    if rate is not None and _window_full(rate, claim):
        return "rate_limited", _rate_limited(rate, claim)
    # The workflow changed between the claim and this read (its run may even have ended):
    # the claim lost to a run, so it is busy. Only a full window is a 429.
    return "busy", Conflict("workflow is already running", status="busy")


def _window_full(rate: RateWindow, claim: TriggerClaim) -> bool:
    return bool(claim.rate_limit) and rate.window_start == claim.window_start and (
        rate.count >= claim.rate_limit
    )


def _rate_limited(rate: RateWindow, claim: TriggerClaim) -> RateLimited:
    window_end = rate.window_start + timedelta(seconds=RATE_WINDOW_S)
    retry_after_s = max(1, int((window_end - claim.now).total_seconds() + 0.999))
    return RateLimited(
        f"more than {claim.rate_limit} triggers per minute", retry_after_s=retry_after_s
    )

