"""Operations endpoints of every service: /health, /ready and /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.web.errors import install_error_handlers

ReadyCheck = Callable[[], Awaitable[bool]]

_READY_CONTENT = {"application/json": {"schema": {
    "type": "object", "required": ["ok"], "additionalProperties": {"type": "boolean"},
}}}


def _passed(task: asyncio.Future[bool], lingering: set[asyncio.Future[bool]]) -> bool:
    """A check's verdict; one still running is not ready, and is left to finish.

    Checks are never cancelled: on Python 3.11, cancelling a PyMongo async operation that
    waits in server selection can leave the client's topology lock held forever, after which
    every database operation of the process hangs. Each check is bounded by its driver's own
    timeouts instead.
    """
    if not task.done():
        lingering.add(task)  # referenced until it ends, then forgotten
        task.add_done_callback(lambda t: _forget(t, lingering))
        return False
    return not task.cancelled() and task.exception() is None and bool(task.result())


def _forget(task: asyncio.Future[bool], lingering: set[asyncio.Future[bool]]) -> None:
    lingering.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failed check is an answer, not an error


def ops_router(*, timeout_s: float = 2.0) -> APIRouter:
    """/health (liveness), /ready (`app.state.ready_checks` all pass) and /metrics."""
    router = APIRouter(tags=["operations"])
    lingering: set[asyncio.Future[bool]] = set()  # checks still running past the timeout

    @router.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/ready", responses={
        200: {"description": "every dependency answers", "content": _READY_CONTENT},
        503: {"description": "some dependency does not answer", "content": _READY_CONTENT},
    })
    async def ready(request: Request) -> JSONResponse:
        checks: dict[str, ReadyCheck] = request.app.state.ready_checks
        names = list(checks)
        tasks = [asyncio.ensure_future(checks[n]()) for n in names]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)  # never cancels them: see _passed
        results = [_passed(t, lingering) for t in tasks]
        body: dict[str, Any] = dict(zip(names, results, strict=True))
        body["ok"] = all(results)
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def ops_app(title: str, ready_checks: dict[str, ReadyCheck]) -> FastAPI:
    """The small HTTP app of a background service: /health, /ready and /metrics only."""
    app = FastAPI(title=title)
    install_error_handlers(app)
    app.state.ready_checks = ready_checks
    app.include_router(ops_router())
    return app
