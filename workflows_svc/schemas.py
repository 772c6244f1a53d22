"""Request and response bodies of the REST API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from shared.actions import Action, ActionIn
from shared.domain.definition import TriggerSpec, WorkflowDefinition
from shared.domain.models import TriggerType
from workflows_svc.patterns import INTERVAL, WORKFLOW_ID


class _Strict(BaseModel):
    # Only the documented (alias) names: `workflow_id` for `workflowId` is an unknown field.
    model_config = ConfigDict(extra="forbid")


class TriggerIn(_Strict):
    type: Literal["manual", "periodic"]
    interval: str | None = Field(
        None, max_length=32, description='periodic only: positive integer + s, m or h ("30s")'
    )


# The documented shape of a trigger; WorkflowService checks the rules a model cannot
# (interval only for periodic, the interval's syntax and its configured bounds).
_INTERVAL_DOC = (
    'positive integer + s, m or h ("30s", "5m", "1h"); at least the configured minimum '
    "interval (default 1s), at most 366 days"
)
TRIGGER_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "object", "title": "ManualTrigger", "additionalProperties": False,
         "required": ["type"],
         "properties": {"type": {"const": "manual"}, "interval": {"type": "null"}}},
        {"type": "object", "title": "PeriodicTrigger", "additionalProperties": False,
         "required": ["type", "interval"],
         "properties": {"type": {"const": "periodic"},
                        "interval": {"type": "string", "pattern": INTERVAL,
                                     "description": _INTERVAL_DOC}}},
    ],
}


class WorkflowCreate(_Strict):
    """Body of POST /workflows (the original's field names)."""

    workflow_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        alias="workflowId", json_schema_extra={"pattern": WORKFLOW_ID},
        description="1-200 characters, no '/' and no control character (U+0000-U+001F)",
    )
    trigger: Annotated[TriggerIn, WithJsonSchema(TRIGGER_SCHEMA)]
    actions: list[ActionIn] = Field(min_length=1, max_length=100)

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
            trigger=TriggerSpec(TriggerType(self.trigger.type), self.trigger.interval),
            actions=[cast(Action, a.stored(i)) for i, a in enumerate(self.actions, start=1)],
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
