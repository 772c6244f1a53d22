"""Routes of the workflow resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from shared.domain.models import ExecutionStatus, TriggerType, WorkflowStatus
from shared.ports import WorkflowFilter
from workflows_svc.routes.deps import MaybeRunsDep, ServiceDep, error_responses, require_json
from workflows_svc.routes.executions import page_out
from workflows_svc.schemas import (
    CreatedOut,
    ExecutionPage,
    TriggerBody,
    TriggeredOut,
    WorkflowCreate,
    WorkflowOut,
    WorkflowPage,
)
from workflows_svc.views import (
    encode_cursor,
    execution_cursor,
    workflow_cursor,
    workflow_out,
)

router = APIRouter(prefix="/workflows", tags=["workflows"])
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=512)]


@router.post(
    "", status_code=201, response_model=CreatedOut,
    dependencies=[Depends(require_json)], responses=error_responses(400, 409, 413, 415, 503),
)
async def create_workflow(body: WorkflowCreate, service: ServiceDep) -> CreatedOut:
    """Define a workflow: a manual or periodic trigger and its actions."""
    workflow = await service.create(body.to_definition())
    return CreatedOut(workflowId=workflow.workflow_id)


@router.get("", response_model=WorkflowPage, responses=error_responses(400, 503))
async def list_workflows(
    service: ServiceDep, limit: Limit = 50, cursor: Cursor = None,
    status: WorkflowStatus | None = None, trigger_type: TriggerType | None = None,
    paused: bool | None = None, archived: bool | None = None,
) -> WorkflowPage:
    """All workflows by id, a page at a time; optionally only those matching every filter."""
    filters = WorkflowFilter(
        status=status, trigger_type=trigger_type, paused=paused, archived=archived
    )
    page = await service.list(after_id=workflow_cursor(cursor), limit=limit, filters=filters)
    now = service.now()
    next_cursor = (
        encode_cursor({"after": page.items[-1].workflow_id}) if page.has_more else None
    )
    return WorkflowPage(items=[workflow_out(w, now) for w in page.items], next_cursor=next_cursor)


@router.get("/{workflow_id}", response_model=WorkflowOut, responses=error_responses(404, 503))
async def get_workflow(workflow_id: str, service: ServiceDep) -> WorkflowOut:
    """The definition and its live state, with the seconds left until its next run."""
    return workflow_out(await service.get(workflow_id), service.now())


@router.delete("/{workflow_id}", status_code=204, responses=error_responses(404, 503))
async def archive_workflow(workflow_id: str, service: ServiceDep) -> Response:
    """Archive: no further runs or triggers; history stays readable."""
    await service.archive(workflow_id)
    return Response(status_code=204)


# The body stays v1's; the execution it started is named by a header (SPEC 12's resources).
_LOCATION = {
    "description": "the execution it started: `/executions/{id}`",
    "schema": {"type": "string", "example": "/executions/0b7f3c1e-5d2a-4e8b-9a51-2f6d0c4e7a19"},
}
_TRIGGERED: dict[int | str, dict[str, Any]] = {
    200: {"description": "triggered", "headers": {"Location": _LOCATION}},
}


@router.post(
    "/{workflow_id}/trigger", response_model=TriggeredOut,
    responses={**_TRIGGERED, **error_responses(400, 404, 409, 429, 503)},
)
async def trigger_workflow(
    workflow_id: str, service: ServiceDep, response: Response, body: TriggerBody | None = None
) -> TriggeredOut:
    """Run a manual workflow now; the optional body's `input` is checked against `inputs`.
    The `Location` header names the execution started."""
    execution_id = await service.trigger(workflow_id, None if body is None else body.input)
    response.headers["Location"] = f"/executions/{execution_id}"
    return TriggeredOut()


@router.get(
    "/{workflow_id}/executions", response_model=ExecutionPage,
    responses=error_responses(400, 404, 503),
)
async def list_executions(
    workflow_id: str, service: ServiceDep, runs: MaybeRunsDep, limit: Limit = 50,
    cursor: Cursor = None, status: ExecutionStatus | None = None,
) -> ExecutionPage:
    """A workflow's executions, newest first."""
    page = await service.executions(
        workflow_id, status=status, before=execution_cursor(cursor), limit=limit
    )
    return await page_out(runs, page.items, page.has_more)
