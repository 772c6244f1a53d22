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


class WorkflowCreate(_Strict):
    """Body of POST /workflows (the original's field names)."""

    workflow_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        alias="workflowId", json_schema_extra={"pattern": WORKFLOW_ID},
        description="1-200 characters, no '/' and no control character (U+0000-U+001F)",
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
            workflow_id=self.workflow_id,
            trigger=self.trigger.to_spec(),
            actions=[a.to_action(i) for i, a in enumerate(self.actions, start=1)],
            retry=self.retry,
            inputs={n: d.to_spec() for n, d in (self.inputs or {}).items()} or None,
            overlap=self.overlap, catchup_window=self.catchup_window,
        )


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
    workflow_id: str
    status: str
    created_at: datetime
    archived_at: datetime | None
    trigger: TriggerOut
    actions: list[ActionOut]
    seconds_to_next_run: float


class WorkflowPage(BaseModel):
    items: list[WorkflowOut]
    next_cursor: str | None


class ActionResultOut(BaseModel):
    action_id: int
    status: str
    logs: str


class ExecutionOut(BaseModel):
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


class SignalledOut(BaseModel):
    status: Literal["signal delivered"] = "signal delivered"
    action: str = Field(description="the name of the action that received it")


class ExecutionPage(BaseModel):
    items: list[ExecutionOut]
    next_cursor: str | None
