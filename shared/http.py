"""HTTP plumbing every service shares: ops routes, error bodies, limits, metrics."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    RateLimited,
    Unavailable,
    UnsupportedMediaType,
)
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS

ReadyCheck = Callable[[], Awaitable[bool]]
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})
_STATUS = {
    InvalidInput: 400, NotFound: 404, Conflict: 409, UnsupportedMediaType: 415,
    RateLimited: 429, Unavailable: 503,
}


def error_response(status_code: int, message: str, **extra: Any) -> JSONResponse:
    body = {"error": message, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status_code)


async def _domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, Conflict):
        extra = {"status": exc.status,
                 "nextRetryAt": exc.next_retry_at.isoformat() if exc.next_retry_at else None}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    response = error_response(status, exc.message, **extra)
    response.headers.update(headers)
    return response


def _describe(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        if err.get("type") == "json_invalid":
            detail = (err.get("ctx") or {}).get("error", "")
            parts.append(f"request body is not valid JSON ({detail})" if detail else
                         "request body is not valid JSON")
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, _describe(list(exc.errors())))


# Why FastAPI could not parse a body (it answers them all "There was an error parsing the body").
_PARSE_FAILURES = (
    (RecursionError, "request body is nested too deeply"),
    (UnicodeDecodeError, "request body is not valid UTF-8"),
)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = next(
        (text for cause, text in _PARSE_FAILURES if isinstance(exc.__cause__, cause)),
        str(exc.detail),
    )
    response = error_response(exc.status_code, message)
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed_methods(request)
    return response


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _too_deep(_: Request, __: Exception) -> Response:
    return error_response(400, "request body is nested too deeply")


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers `{"error": "<message>"}` with the matching status."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    _document_validation_as_400(app)


def _document_validation_as_400(app: FastAPI) -> None:
    """Drop the 422 FastAPI documents for every route: validation errors answer 400 here.

    Each route lists the 400 it can give (an `{"error": ...}` body) in its own `responses`.
    """

    def amend(schema: dict[str, Any]) -> None:
        for _, operation in _operations(schema):
            operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)

    amend_openapi(app, amend)


def amend_openapi(app: FastAPI, amend: Callable[[dict[str, Any]], None]) -> None:
    """Apply `amend` to the app's OpenAPI document when it is first generated."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            amend(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, operation)
        for path, item in schema.get("paths", {}).items()
        for operation in item.values()
    ]


_READY_CONTENT = {"application/json": {"schema": {
    "type": "object", "required": ["ok"], "additionalProperties": {"type": "boolean"},
}}}


# Readiness checks still running after the route's timeout finish in the background.
_LINGERING: set[asyncio.Future[bool]] = set()


def _passed(task: asyncio.Future[bool]) -> bool:
    """A check's verdict; one still running is not ready, and is left to finish.

    Checks are never cancelled: on Python 3.11, cancelling a PyMongo async operation that
    waits in server selection can leave the client's topology lock held forever, after which
    every database operation of the process hangs. Each check is bounded by its driver's own
    timeouts instead.
    """
    if not task.done():
        _LINGERING.add(task)
        task.add_done_callback(_forget)
        return False
    return not task.cancelled() and task.exception() is None and bool(task.result())


def _forget(task: asyncio.Future[bool]) -> None:
    _LINGERING.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failed check is an answer, not an error


def ops_router(*, timeout_s: float = 2.0) -> APIRouter:
    """/health (liveness), /ready (`app.state.ready_checks` all pass) and /metrics."""
    router = APIRouter(tags=["operations"])

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
        results = [_passed(t) for t in tasks]
        body: dict[str, Any] = dict(zip(names, results, strict=True))
        body["ok"] = all(results)
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class LimitsMiddleware:
    """Body size cap (413), optional API key (401) and request metrics, as pure ASGI."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, api_key: str | None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.api_key = api_key.encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}
        try:
            await self._guarded(scope, receive, send, status_holder)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status_holder["status"])).inc()
            HTTP_LATENCY.labels(path).observe(time.perf_counter() - started)

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, status_holder: dict[str, int]
    ) -> None:
        async def send_tracking(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        headers = dict(scope.get("headers") or [])
        if self.api_key and scope["path"] not in OPEN_PATHS:
            given = headers.get(b"x-api-key", b"")
            if not hmac.compare_digest(given, self.api_key):
                resp = error_response(401, "missing or invalid API key")
                await resp(scope, receive, send_tracking)
                return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await error_response(413, "request body too large")(scope, receive, send_tracking)
            return
        await self.app(scope, self._capped(receive), send_tracking)

    def _capped(self, receive: Receive) -> Receive:
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge()
            return message

        return capped


class BodyTooLarge(StarletteHTTPException):
    """A chunked body grew past the limit while being read.

    An HTTPException, so FastAPI's body parsing re-raises it instead of wrapping it in a 400.
    """

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


async def _body_too_large(_: Request, __: Exception) -> Response:
    return error_response(413, "request body too large")


def install_limits(app: FastAPI, *, max_body_bytes: int, api_key: str | None) -> None:
    app.add_exception_handler(BodyTooLarge, _body_too_large)
    app.add_middleware(LimitsMiddleware, max_body_bytes=max_body_bytes, api_key=api_key)
    if api_key:
        amend_openapi(app, _document_api_key)


def _document_api_key(schema: dict[str, Any]) -> None:
    """The `X-API-Key` scheme, and its 401, on every route but the open ones."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["ApiKey"] = {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
    }
    error = components.get("schemas", {}).get("ErrorOut")
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path, operation in _operations(schema):
        if path in OPEN_PATHS:
            continue
        operation["security"] = [{"ApiKey": []}]
        operation.setdefault("responses", {})["401"] = {
            "description": "missing or invalid API key", **({"content": body} if error else {}),
        }


def ops_app(title: str, ready_checks: dict[str, ReadyCheck]) -> FastAPI:
    """The small HTTP app of a background service: /health, /ready and /metrics only."""
    app = FastAPI(title=title)
    install_error_handlers(app)
    app.state.ready_checks = ready_checks
    app.include_router(ops_router())
    return app
