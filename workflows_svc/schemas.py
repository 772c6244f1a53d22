"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LogActionIn(_Strict):
    type: Literal["log"]
    message: NonEmpty


class HttpActionIn(_Strict):
    type: Literal["http-request"]
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    method: Annotated[str, StringConstraints(min_length=1, max_length=10)]

    @field_validator("url")
    @classmethod
    def _absolute_http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http(s) URL")
        return url

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        upper = method.upper()
        if upper not in HTTP_METHODS:
            raise ValueError(f"method must be one of {', '.join(HTTP_METHODS)}")
        return upper


ActionIn = Annotated[LogActionIn | HttpActionIn, Field(discriminator="type")]


class TriggerIn(_Strict):
    type: Literal["manual", "periodic"]
    interval: str | None = Field(
        None, max_length=32, description='periodic only: positive integer + s, m or h ("30s")'
    )


class WorkflowCreate(_Strict):
    """Body of POST /workflows (the original's field names)."""

    workflow_id: Annotated[
        str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
    ] = Field(alias="workflowId")
    trigger: TriggerIn
    actions: list[ActionIn] = Field(min_length=1, max_length=100)


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


class ExecutionPage(BaseModel):
    items: list[ExecutionOut]
    next_cursor: str | None
