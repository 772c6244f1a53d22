"""FastAPI dependencies: the service instance the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.domain.errors import Unavailable, UnsupportedMediaType
from workflows_svc.execution_service import ExecutionService
from workflows_svc.lifecycle_service import LifecycleService
from workflows_svc.service import WorkflowService


async def get_service(request: Request) -> WorkflowService:
    service: WorkflowService = request.app.state.service
    return service


ServiceDep = Annotated[WorkflowService, Depends(get_service)]


async def get_lifecycle(request: Request) -> LifecycleService:
    lifecycle: LifecycleService | None = request.app.state.lifecycle
    if lifecycle is None:
        raise Unavailable("lifecycle endpoints are not wired")
    return lifecycle


async def get_runs(request: Request) -> ExecutionService:
    runs: ExecutionService | None = request.app.state.runs
    if runs is None:
        raise Unavailable("execution endpoints are not wired")
    return runs


async def get_runs_if_wired(request: Request) -> ExecutionService | None:
    runs: ExecutionService | None = request.app.state.runs
    return runs


LifecycleDep = Annotated[LifecycleService, Depends(get_lifecycle)]
RunsDep = Annotated[ExecutionService, Depends(get_runs)]
# The v1 reads work without SPEC 12's service (they then show no `waiting`).
MaybeRunsDep = Annotated[ExecutionService | None, Depends(get_runs_if_wired)]


async def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the `{"error": ...}` answers a route can give."""
    from workflows_svc.schemas import ErrorOut

    return {code: {"model": ErrorOut} for code in codes}
