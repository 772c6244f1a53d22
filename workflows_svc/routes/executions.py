"""Routes of the execution resource."""

from __future__ import annotations

from fastapi import APIRouter

from workflows_svc.routes.deps import ServiceDep, error_responses
from workflows_svc.schemas import ExecutionOut
from workflows_svc.views import execution_out

router = APIRouter(prefix="/executions", tags=["executions"])


@router.get("/{execution_id}", response_model=ExecutionOut, responses=error_responses(404, 503))
async def get_execution(execution_id: str, service: ServiceDep) -> ExecutionOut:
    """One execution with the results of every action it ran."""
    return execution_out(await service.execution(execution_id))
