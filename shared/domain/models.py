"""Domain models: workflows, triggers, actions, executions, execution requests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class WorkflowStatus(StrEnum):
    ACTIVE = "active"
    SCHEDULED = "scheduled"
    LOCKED = "locked"


class TriggerType(StrEnum):
    MANUAL = "manual"
    PERIODIC = "periodic"


class TriggerStatus(StrEnum):
    BUSY = "busy"
    PENDING = "pending"
    WAITING = "waiting"  # parked on a delay or a signal (SPEC 12); nothing sets it in v1


class ActionType(StrEnum):
    LOG = "log"
    HTTP_REQUEST = "http-request"


class ExecutionStatus(StrEnum):
    OK = "ok"
    PENDING = "pending"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its workflow was archived before it could finish


class ActionResultStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"


class _Model(BaseModel):
    model_config = ConfigDict(use_enum_values=False, validate_assignment=False)


class Action(_Model):
    """One step of a workflow; `action_id` is 1-based and follows definition order."""

    action_id: int
    type: ActionType
    message: str | None = None
    url: str | None = None
    method: str | None = None


class Trigger(_Model):
    """How a workflow starts, and its live dispatch state."""

    type: TriggerType
    interval: str | None = None
    interval_ms: int | None = None
    next_run: datetime | None = None
    status: TriggerStatus | None = None
    # Id of the execution the next dispatch runs: set by the dispatcher for a fresh
    # run, kept while a failed execution waits for its retry, cleared when it ends.
    execution_id: str | None = None
    # Attempts of that execution cut short by infrastructure (an error outside the actions,
    # a runner lost with its lease); reset when it ends. Capped by MAX_INTERRUPTED_ATTEMPTS.
    interrupted_attempts: int = 0


class Lock(_Model):
    """A runner's lease on a workflow it is executing."""

    token: str
    expires_at: datetime


class RateWindow(_Model):
    """Accepted manual triggers in the fixed window starting at `window_start`."""

    window_start: datetime
    count: int = 0


class Workflow(_Model):
    workflow_id: str
    status: WorkflowStatus = WorkflowStatus.ACTIVE
    created_at: datetime
    trigger: Trigger
    actions: list[Action]
    archived_at: datetime | None = None
    paused_at: datetime | None = None  # SPEC 12: not dispatched while set
    scheduled_at: datetime | None = None
    lock: Lock | None = None
    rate: RateWindow | None = None


class ActionResult(_Model):
    action_id: int
    status: ActionResultStatus
    logs: str


class Execution(_Model):
    id: str
    workflow_id: str
    status: ExecutionStatus = ExecutionStatus.PENDING
    created_at: datetime
    finished_at: datetime | None = None
    retries: int
    last_failed_action: int | None = None
    total_actions: int
    executed_actions: list[ActionResult] = Field(default_factory=list)
    # Why it ended without an action deciding it (cancelled, or failed after interruptions).
    reason: str | None = None


class ExecutionRequest(_Model):
    """The Kafka message asking a runner to execute a workflow."""

    workflow_id: str
    execution_id: str | None = None
