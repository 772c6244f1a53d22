"""Use cases of the workflows API: define, read, trigger and archive workflows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from shared.actions.rules import ActionRules, check_actions
from shared.domain.definition import WorkflowDefinition
from shared.domain.errors import Conflict, InvalidInput, NotFound, Overloaded, RateLimited
from shared.domain.inputs import InputError, resolve_input
from shared.domain.models import (
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    RateWindow,
    TriggerStatus,
    TriggerType,
    Workflow,
    WorkflowStatus,
)
from shared.domain.timing import rate_window_start
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
from workflows_svc.signals import SignalService
from workflows_svc.triggers import TriggerRules, build_trigger

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
        action_rules: ActionRules | None = None, shed_trigger: Callable[[], bool] | None = None,
    ) -> None:
        self._workflows = workflows
        self._executions = executions
        self._publisher = publisher
        self._clock = clock
        self._trigger_rules = TriggerRules(min_interval_ms=int(min_interval_s * 1000))
        self._rate_limit = trigger_rate_limit
        self._action_rules = action_rules or ActionRules()
        self._shed_trigger = shed_trigger or (lambda: False)

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
        trigger = build_trigger(definition, now, self._trigger_rules)
        check_actions(definition.actions, inputs=definition.inputs or {}, rules=self._action_rules)
        return Workflow(
            workflow_id=definition.workflow_id, created_at=now, trigger=trigger,
            actions=definition.actions, inputs=definition.inputs or None, retry=definition.retry,
            description=definition.description, labels=definition.labels,
        )

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

    async def trigger(self, workflow_id: str, given: dict[str, Any] | None = None) -> str:
        """Claim the workflow and produce its request; the new execution's id.

        Without input the claim is the one round trip of v1 (a workflow that requires input
        refuses it); with input the workflow is read first to check it against `inputs`."""
        if self._shed_trigger():
            raise Overloaded("runs are waiting too long for a runner; retry later", retry_after_s=1)
        now = self._clock.now()
        run_input = None if given is None else await self._checked_input(workflow_id, given)
        claim = TriggerClaim(
            workflow_id=workflow_id, execution_id=str(uuid.uuid4()), now=now,
            window_start=rate_window_start(now, RATE_WINDOW_S), rate_limit=self._rate_limit,
            input=run_input,
        )
        if not await self._workflows.claim_for_trigger(claim):
            await self._refuse(claim)  # raises, unless the claim was seen to run after all
            TRIGGERS.labels("accepted").inc()
            return claim.execution_id
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

    async def _checked_input(self, workflow_id: str, given: dict[str, Any]) -> dict[str, Any]:
        """`given` checked against the workflow's declared inputs, defaults applied."""
        workflow = await self.get(workflow_id)
        try:
            return resolve_input(workflow.inputs or {}, given)
        except InputError as exc:
            TRIGGERS.labels("invalid_input").inc()
            raise InvalidInput(f"input: {exc}") from exc

    async def _refuse(self, claim: TriggerClaim) -> None:
        """Explain why a claim failed, as the matching domain error; return if it won.

        A batch of claims reads its winners back by their new execution ids; a redelivered
        request for the workflow may have run one and released it in between. Its id is
        fresh, so a stored execution under it proves the claim won (it ran: nothing to send)."""
        workflow = await self.get(claim.workflow_id)
        outcome, error = _refusal(workflow, claim)
        if outcome == _CHANGED:
            if await self._executions.get(claim.execution_id) is not None:
                log.warning("trigger claim ran before it was read back",
                            workflow_id=claim.workflow_id, execution_id=claim.execution_id)
                return
            outcome = "busy"
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

    def signals(self) -> SignalService:
        """The signal use case (`workflows_svc.signals`) over the same ports."""
        return SignalService(workflows=self._workflows, executions=self._executions,
                             publisher=self._publisher, clock=self._clock)


_CHANGED = "changed"  # idle when read back: a run came and went (or this claim ran)


def _refusal(workflow: Workflow, claim: TriggerClaim) -> tuple[str, Exception]:
    trigger = workflow.trigger
    if workflow.archived_at is not None:
        return "archived", Conflict("workflow is archived", status="archived")
    if workflow.paused_at is not None:
        return "paused", Conflict("workflow is paused", status="paused")
    if trigger.type == TriggerType.PERIODIC:
        return "periodic", InvalidInput("Periodic workflows cannot be triggered manually")
    if trigger.type != TriggerType.MANUAL:
        return trigger.type.value, InvalidInput(
            f"{trigger.type.value.capitalize()} workflows cannot be triggered manually"
        )
    if claim.input is None and trigger.input_required:
        return "invalid_input", _missing_input(workflow)
    if trigger.status == TriggerStatus.PENDING:
        return "pending", Conflict(
            "workflow is waiting to retry a failed execution",
            status="pending", next_retry_at=trigger.next_run,
        )
    waits = (TriggerStatus.BUSY, TriggerStatus.WAITING)  # waiting: parked on a delay or signal
    if trigger.status in waits or workflow.status != WorkflowStatus.ACTIVE:
        return "busy", Conflict("workflow is already running", status="busy")
    rate = workflow.rate
    if rate is not None and _window_full(rate, claim):
        return "rate_limited", _rate_limited(rate, claim)
    # The workflow changed between the claim and this read (its run may even have ended):
    # the claim lost to a run, so it is busy. Only a full window is a 429.
    return _CHANGED, Conflict("workflow is already running", status="busy")


def _missing_input(workflow: Workflow) -> InvalidInput:
    try:
        resolve_input(workflow.inputs or {}, None)
    except InputError as exc:
        return InvalidInput(f"input: {exc}")
    return InvalidInput("input: this workflow requires input")


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

