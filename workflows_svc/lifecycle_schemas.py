"""Request and response bodies of SPEC 12's endpoints (versions, pause, retry, cancel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.definition import WorkflowDefinition
from shared.domain.errors import InvalidInput
from workflows_svc.schemas import ActionOut, WorkflowCreate

_LOG: dict[str, Any] = {"type": "log", "message": "hello"}


class WorkflowReplace(WorkflowCreate):
    """Body of PUT /workflows/{id}: the body of POST (its `workflowId` the path's id)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"workflowId": "nightly", "trigger": {"type": "periodic", "interval": "10m"},
         "actions": [_LOG]},
    ]})

    def to_definition_for(self, workflow_id: str) -> WorkflowDefinition:
        """The definition of workflow `workflow_id`; 400 when the body names another."""
        if self.workflow_id != workflow_id:
            raise InvalidInput("workflowId must match the path's id")
        return self.to_definition()


class ReplacedOut(BaseModel):
    """Answer of PUT /workflows/{id}."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"workflowId": "nightly", "version": 2},
    ]})

    workflowId: str  # noqa: N815 - the API's documented name
    version: int = Field(description="the version now in force (1 on create, +1 per PUT)")


class VersionOut(BaseModel):
    """One version of a workflow's definition (GET /workflows/{id}/versions/{n})."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"workflow_id": "nightly", "version": 1, "defined_at": "2026-01-05T09:00:00Z",
         "trigger": {"type": "periodic", "interval": "5m", "interval_ms": 300000},
         "actions": [{"action_id": 1, "type": "log", "message": "hello", "url": None,
                      "method": None}]},
    ]})

    workflow_id: str
    version: int
    defined_at: datetime = Field(description="when this version was defined (created or PUT)")
    trigger: dict[str, Any] = Field(description="the trigger as defined (no live state)")
    actions: list[ActionOut]


class RetryIn(BaseModel):
    """Optional body of POST /executions/{id}/retry."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra={
        "examples": [{}, {"from": "notify"}],
    })

    from_action: str | None = Field(
        None, alias="from", max_length=64,
        description="re-run this action and everything downstream of it; absent: re-run "
                    "what did not succeed",
    )
