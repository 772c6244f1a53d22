"""Domain models: workflows, triggers, executions, execution requests (actions: shared.actions)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# One step of a workflow: a union of the action kinds (shared.actions), chosen by `type`.
from shared.actions import Action
from shared.domain.inputs import InputSpec
from shared.domain.retry_policy import RetrySpec


class WorkflowStatus(StrEnum):
    ACTIVE = "active"
    SCHEDULED = "scheduled"
    LOCKED = "locked"


class TriggerType(StrEnum):
    MANUAL = "manual"
    PERIODIC = "periodic"
    CRON = "cron"
    ONCE = "once"


class TriggerStatus(StrEnum):
    BUSY = "busy"
    PENDING = "pending"
    WAITING = "waiting"  # parked on a delay or a signal (SPEC 12); nothing sets it in v1


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
    # True when the dispatch started a new execution (not a retry, a wake or a re-run): with
    # no interrupted attempt, nothing has stored it yet, so a runner may defer its insert.
    fresh_execution: bool = False
    # Part II (SPEC 10). cron: expression and IANA zone; once: the instant (`after` resolved
    # at creation) and the `after` text as given.
    cron: str | None = None
    timezone: str | None = None
    at: datetime | None = None
    after: str | None = None
    # A scheduled trigger's input, as defined (defaults applied when a run starts).
    input: dict[str, Any] | None = None
    # The input of the manual run in flight: set by each claim (None: none was given).
    run_input: dict[str, Any] | None = None
    # True when a declared input is required: a trigger without input is refused unread.
    input_required: bool = False
    overlap: str | None = None  # "skip" (None: the default) | "buffer_one"
    catchup_window: str | None = None
    catchup_window_ms: int | None = None  # None: the default window (1h)


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
    retry: RetrySpec | None = None  # SPEC 9; absent: the v1 policy
    inputs: dict[str, InputSpec] | None = None  # SPEC 9: declared inputs
    description: str | None = None  # SPEC 9: free text
    labels: dict[str, str] | None = None  # SPEC 13: what `wfa apply` marks its workflows with
    archived_at: datetime | None = None
    paused_at: datetime | None = None  # SPEC 12: not dispatched while set
    scheduled_at: datetime | None = None
    claim_id: str | None = None  # stamped by each batched claim or release (lifecycle)
    lock: Lock | None = None
    rate: RateWindow | None = None
    # SPEC 12: the definition's version (1 on create, +1 per PUT); older ones are kept apart.
    version: int = 1
    updated_at: datetime | None = None


class ActionResult(_Model):
    action_id: int
    status: ActionResultStatus
    logs: str
    # What the action answered (http-request: status, content type, body), secrets masked.
    response: dict[str, Any] | None = None


class ActionStatus(StrEnum):
    """Where one action of an execution stands (see `shared.domain.execution_record`)."""

    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    WAITING = "waiting"  # a delay or a wait-for-signal action, parked (SPEC 11)


class WaitReason(StrEnum):
    BACKOFF = "backoff"
    DELAY = "delay"
    SIGNAL = "signal"


class Waiting(_Model):
    """Why and until when an execution waits (`until` None: only a signal ends it)."""

    reason: WaitReason
    until: datetime | None = None
    signal: str | None = None


class ActionWait(Waiting):
    """A wait action's parked state: when it began and, for a signal, what was delivered."""

    started_at: datetime
    delivered: bool = False
    payload: Any = None


class ActionRun(_Model):
    """One run of one action: `seq` orders the runs of the whole execution."""

    seq: int
    attempt: int
    status: ActionResultStatus
    logs: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    response: dict[str, Any] | None = None
    # A wait-for-signal run: the JSON payload its signal delivered (`${actions.<name>.signal}`).
    signal: Any = None


class ActionState(_Model):
    """One action's state in an execution, with every run of it so far."""

    action_id: int
    status: ActionStatus = ActionStatus.PENDING
    runs: list[ActionRun] = Field(default_factory=list)
    # Set while a delay or wait-for-signal action is parked; cleared by its run.
    wait: ActionWait | None = None


class Execution(_Model):
    """One execution; `actions` (keyed by action name) is the record the v1 fields derive from."""

    id: str
    workflow_id: str
    status: ExecutionStatus = ExecutionStatus.PENDING
    created_at: datetime
    finished_at: datetime | None = None
    retries: int
    total_actions: int
    # Attempts recorded so far; the runs of attempt n carry `attempt == n`.
    attempt: int = 0
    actions: dict[str, ActionState] = Field(default_factory=dict)
    # Why it ended without an action deciding it (cancelled, or failed after interruptions).
    reason: str | None = None
    # SPEC 12: the workflow version it runs (fixed when it starts), its input (SPEC 9, declared
    # defaults applied; None for a workflow without inputs), and whether a cancel was asked
    # for while it ran (the runner starts no further action then).
    workflow_version: int = 1
    input: dict[str, Any] | None = None
    cancel_requested: bool = False
    # Why it is not running now (a backoff, a delay, a signal), written when it stops to wait.
    waiting: Waiting | None = None

    @property
    def executed_actions(self) -> list[ActionResult]:
        """The v1 flat list: every action run, in the order they ran."""
        return [
            ActionResult(action_id=action_id, status=run.status, logs=run.logs)
            for action_id, run in self._runs_in_order()
        ]

    @property
    def last_failed_action(self) -> int | None:
        """The v1 field: action_id of the action that failed last, None if none did."""
        failed = [a for a, run in self._runs_in_order() if run.status != ActionResultStatus.OK]
        return failed[-1] if failed else None

    def _runs_in_order(self) -> list[tuple[int, ActionRun]]:
        runs = [(s.action_id, run) for s in self.actions.values() for run in s.runs]
        return sorted(runs, key=lambda pair: pair[1].seq)


class ExecutionRequest(_Model):
    """The Kafka message asking a runner to execute a workflow."""

    workflow_id: str
    execution_id: str | None = None
