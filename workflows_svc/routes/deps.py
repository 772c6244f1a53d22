"""FastAPI dependencies: the service instance the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.domain.errors import UnsupportedMediaType
from workflows_svc.service import WorkflowService


async def get_service(request: Request) -> WorkflowService:
    service: WorkflowService = request.app.state.service
    return service


ServiceDep = Annotated[WorkflowService, Depends(get_service)]


async def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the `{"error": ...}` answers a route can give."""
    from workflows_svc.schemas import ErrorOut

    return {code: {"model": ErrorOut} for code in codes}
