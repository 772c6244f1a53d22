"""Request and response bodies of the REST API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    field_validator,
    model_serializer,
)

from shared.actions import ActionIn
from shared.domain.definition import WorkflowDefinition
from shared.domain.retry_policy import RetrySpec
from workflows_svc.patterns import WORKFLOW_ID
from workflows_svc.trigger_schemas import (
    CatchupField,
    InputsField,
    OverlapField,
    TriggerBody,
    TriggerField,
)


class _Strict(BaseModel):
    # Only the documented (alias) names: `workflow_id` for `workflowId` is an unknown field.
    model_config = ConfigDict(extra="forbid")


_V1_TRIGGER_KEYS = frozenset({"type", "interval", "interval_ms", "next_run", "status"})
__all__ = ["TriggerBody"]


LabelKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._/-]{0,62}$")]
LabelValue = Annotated[str, StringConstraints(max_length=200)]
# Keys outside the pattern are refused (the schema says so too: no additional properties).
Labels = Annotated[
    dict[LabelKey, LabelValue],
    Field(max_length=20, json_schema_extra={"additionalProperties": False}),
]


class WorkflowCreate(_Strict):
    """Body of POST /workflows (the original's field names)."""

    workflow_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        alias="workflowId", json_schema_extra={"pattern": WORKFLOW_ID},
        description="1-200 characters, no '/' and no control character (U+0000-U+001F)",
    )
    description: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="free text, optional (SPEC 9)"
    )
    labels: Labels | None = Field(
        None,
        description="key -> value, e.g. {\"managed-by\": \"wfa\"} (what `wfa apply --prune` "
                    "looks for)",
    )
    trigger: TriggerField
    actions: list[ActionIn] = Field(min_length=1, max_length=100)
    retry: RetrySpec | None = Field(None, description="absent: 4 attempts, 4/9/16 s apart")
    inputs: InputsField | None = Field(
        None, description="declared inputs: name -> type, required, default (SPEC 9)"
    )
    overlap: OverlapField | None = Field(
        None, description='scheduled triggers: "skip" (default) or "buffer_one"'
    )
    catchup_window: CatchupField | None = None

    @field_validator("workflow_id")
    @classmethod
    def _addressable_id(cls, workflow_id: str) -> str:
        if not re.fullmatch(WORKFLOW_ID, workflow_id):
            raise ValueError("may not contain '/' or control characters (U+0000-U+001F)")
        return workflow_id

    def to_definition(self) -> WorkflowDefinition:
        """The domain value the service checks and stores; actions numbered from 1."""
        return WorkflowDefinition(
            workflow_id=self.workflow_id, description=self.description, labels=self.labels,
            trigger=self.trigger.to_spec(),
            actions=[a.to_action(i) for i, a in enumerate(self.actions, start=1)],
            retry=self.retry,
            inputs={n: d.to_spec() for n, d in (self.inputs or {}).items()} or None,
            overlap=self.overlap, catchup_window=self.catchup_window,
        )


EXECUTION_EXAMPLE: dict[str, Any] = {
    "id": "0b9d0c1e-3f5c-4a7a-9a39-2f1f5e7d7c11", "workflow_id": "nightly",
    "status": "pending", "created_at": "2026-01-05T09:00:00Z", "finished_at": None,
    "retries": 3, "last_failed_action": 2, "total_actions": 2, "reason": None,
    "workflow_version": 2, "input": None, "attempt": 1, "cancel_requested": False,
    "waiting": {"reason": "backoff", "until": "2026-01-05T09:00:04Z", "signal": None},
    "executed_actions": [
        {"action_id": 1, "name": "action-1", "status": "ok", "logs": "hello", "attempt": 1,
         "started_at": "2026-01-05T09:00:00.010Z", "finished_at": "2026-01-05T09:00:00.011Z",
         "duration_ms": 1, "response": None},
        {"action_id": 2, "name": "action-2", "status": "failed", "attempt": 1,
         "logs": "GET https://example.com [STATUS 500] => ...",
         "started_at": "2026-01-05T09:00:00.011Z", "finished_at": "2026-01-05T09:00:00.210Z",
         "duration_ms": 199, "response": None},
    ],
}


WORKFLOW_EXAMPLE: dict[str, Any] = {
    "workflow_id": "nightly", "status": "active", "created_at": "2026-01-05T09:00:00Z",
    "archived_at": None, "version": 2, "paused_at": "2026-01-05T10:00:00Z",
    "updated_at": "2026-01-05T09:30:00Z",
    "trigger": {"type": "periodic", "interval": "10m", "interval_ms": 600000,
                "next_run": "2026-01-05T10:10:00Z", "status": None},
    "actions": [{"action_id": 1, "type": "log", "message": "hello", "url": None,
                 "method": None}],
    "seconds_to_next_run": 412.5,
}


class ErrorOut(BaseModel):
    error: str
    status: str | None = None
    nextRetryAt: datetime | None = None  # noqa: N815 - the API's documented name


class CreatedOut(BaseModel):
    workflowId: str  # noqa: N815


class TriggeredOut(BaseModel):
    status: Literal["workflow triggered"] = "workflow triggered"


class ActionOut(BaseModel):
    action_id: int
    type: str
    message: str | None = None
    url: str | None = None
    method: str | None = None
    # SPEC 9, for the graph: present only when defined, so every v1 answer keeps its keys.
    name: str | None = None
    depends_on: list[str] | None = None

    @model_serializer(mode="wrap")
    def _graph_keys_when_set(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        fields: dict[str, Any] = handler(self)
        return {k: v for k, v in fields.items()
                if k not in ("name", "depends_on") or v is not None}


class TriggerOut(BaseModel):
    type: str
    interval: str | None
    interval_ms: int | None
    next_run: datetime | None
    status: str | None
    # Part II: present only when set, so every v1 answer keeps its exact keys.
    cron: str | None = None
    timezone: str | None = None
    at: datetime | None = None
    after: str | None = None
    input: dict[str, Any] | None = None
    overlap: str | None = None
    catchup_window: str | None = None

    @model_serializer(mode="wrap")
    def _v1_keys_always(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        fields: dict[str, Any] = handler(self)
        return {k: v for k, v in fields.items() if k in _V1_TRIGGER_KEYS or v is not None}


class WorkflowOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [WORKFLOW_EXAMPLE]})

    workflow_id: str
    status: str
    created_at: datetime
    archived_at: datetime | None
    trigger: TriggerOut
    actions: list[ActionOut]
    seconds_to_next_run: float
    version: int = Field(1, description="the definition's version: 1, +1 per PUT")
    paused_at: datetime | None = Field(None, description="set while paused (not dispatched)")
    description: str | None = Field(None, description="the definition's free text")
    labels: dict[str, str] | None = Field(None, description="the definition's labels")
    updated_at: datetime | None = Field(None, description="when the last PUT replaced it")


class WorkflowPage(BaseModel):
    items: list[WorkflowOut]
    next_cursor: str | None


class ActionResultOut(BaseModel):
    """One run of one action (one entry per run, in the order they ran)."""

    action_id: int
    status: str
    logs: str
    name: str | None = Field(None, description="the action's name (`action-<id>` by default)")
    attempt: int | None = Field(None, description="the execution's attempt this run was in")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    response: dict[str, Any] | None = Field(None, description="http actions: what answered")


class WaitingOut(BaseModel):
    """Why a pending execution is not running now."""

    reason: Literal["backoff", "delay", "signal"]
    until: datetime | None = Field(None, description="when it goes on (null: on a signal only)")
    signal: str | None = Field(None, description="the signal it waits for")


class ExecutionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXECUTION_EXAMPLE]})

    id: str
    workflow_id: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    retries: int
    last_failed_action: int | None
    total_actions: int
    executed_actions: list[ActionResultOut]
    reason: str | None = Field(
        None, description="why it ended without an action deciding it (cancelled, interrupted)"
    )
    workflow_version: int = Field(1, description="the workflow version it runs (SPEC 12)")
    input: dict[str, Any] | None = Field(None, description="the trigger's input")
    attempt: int = Field(0, description="attempts so far (1 = the first run)")
    waiting: WaitingOut | None = Field(None, description="null unless pending and waiting")
    cancel_requested: bool = Field(
        False, description="a cancel was asked while it ran: it ends when its actions in flight do"
    )


class SignalledOut(BaseModel):
    status: Literal["signal delivered"] = "signal delivered"
    action: str = Field(description="the name of the action that received it")


class ExecutionPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"items": [EXECUTION_EXAMPLE], "next_cursor": "eyJ0IjoiMjAyNi0wMS0wNVQwOTowMDowMFoifQ"},
    ]})

    items: list[ExecutionOut]
    next_cursor: str | None
