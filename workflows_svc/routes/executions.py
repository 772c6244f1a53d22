"""Routes of the execution resource."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from shared.domain.models import Execution, ExecutionStatus
from workflows_svc.execution_service import ExecutionService
from workflows_svc.lifecycle_schemas import RetryIn
from workflows_svc.routes.deps import MaybeRunsDep, RunsDep, ServiceDep, error_responses
from workflows_svc.schemas import ExecutionOut, ExecutionPage
from workflows_svc.views import encode_cursor, execution_cursor, execution_out

router = APIRouter(prefix="/executions", tags=["executions"])
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=512)]


@router.get("", response_model=ExecutionPage, responses=error_responses(400, 503))
async def list_all_executions(
    runs: RunsDep, limit: Limit = 50, cursor: Cursor = None,
    workflow_id: Annotated[str | None, Query(max_length=200)] = None,
    status: ExecutionStatus | None = None,
) -> ExecutionPage:
    """Executions of every workflow (or of `workflow_id`), newest first, a page at a time."""
    page = await runs.list_all(
        workflow_id=workflow_id, status=status, before=execution_cursor(cursor), limit=limit
    )
    return await page_out(runs, page.items, page.has_more)


@router.get("/{execution_id}", response_model=ExecutionOut, responses=error_responses(404, 503))
async def get_execution(
    execution_id: str, service: ServiceDep, runs: MaybeRunsDep
) -> ExecutionOut:
    """One execution with the results of every action it ran."""
    execution = await service.execution(execution_id)
    [waiting] = await runs.waiting([execution]) if runs else [None]
    return execution_out(execution, waiting)


@router.post(
    "/{execution_id}/retry", response_model=ExecutionOut,
    responses=error_responses(400, 404, 409, 503),
)
async def retry_execution(
    execution_id: str, runs: RunsDep,
    body: Annotated[RetryIn | None, Body(openapi_examples={
        "what did not succeed": {"value": {}},
        "from an action": {"value": {"from": "notify"}},
    })] = None,
) -> ExecutionOut:
    """Run a failed or cancelled execution again with a fresh retry budget: the actions that
    did not succeed, or (`from`) that action and everything downstream of it. 409 when the
    execution is not failed or cancelled, or its workflow is busy, paused or archived."""
    execution = await runs.retry(execution_id, body.from_action if body else None)
    return execution_out(execution)


@router.post(
    "/{execution_id}/cancel", response_model=ExecutionOut,
    responses={202: {"model": ExecutionOut, "description": "cancel requested: it ends when "
                     "the actions in flight end (no new action starts)"},
               **error_responses(404, 409, 503)},
)
async def cancel_execution(execution_id: str, runs: RunsDep) -> JSONResponse:
    """Cancel a pending execution: 200 `cancelled` at once when it waits (backoff, delay,
    signal), 202 when it runs (it ends after the actions in flight). 409 when not pending."""
    outcome = await runs.cancel(execution_id)
    body = execution_out(outcome.execution).model_dump(mode="json")
    return JSONResponse(body, status_code=200 if outcome.at_once else 202)


async def page_out(
    runs: ExecutionService | None, items: list[Execution], has_more: bool
) -> ExecutionPage:
    """A page of executions, each with why it waits, and the cursor after the last one."""
    next_cursor = None
    if has_more:
        last = items[-1]
        next_cursor = encode_cursor({"t": last.created_at.isoformat(), "id": last.id})
    waits = await runs.waiting(items) if runs else [None] * len(items)
    return ExecutionPage(
        items=[execution_out(e, w) for e, w in zip(items, waits, strict=True)],
        next_cursor=next_cursor,
    )
