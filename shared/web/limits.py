"""Request limits as pure ASGI middleware: body size (413), API key (401), metrics."""

from __future__ import annotations

import hmac
import time
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.infra.metrics import HTTP_LATENCY, HTTP_REQUESTS, method_label, route_label
from shared.web.errors import amend_openapi, error_response, operations

OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})
# The dashboard's static files: the page asks for the key and sends it with its API calls.
OPEN_PREFIX = "/ui"


def is_open(path: str) -> bool:
    """True for the paths served without the API key."""
    return path in OPEN_PATHS or path == OPEN_PREFIX or path.startswith(OPEN_PREFIX + "/")


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
            path = route_label(scope.get("route"))
            method = method_label(scope["method"])
            HTTP_REQUESTS.labels(method, path, str(status_holder["status"])).inc()
            HTTP_LATENCY.labels(path).observe(time.perf_counter() - started)

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, status_holder: dict[str, int]
    ) -> None:
        async def send_tracking(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        headers = dict(scope.get("headers") or [])
        if self.api_key and not is_open(scope["path"]):
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
    for path, operation in operations(schema):
        if is_open(path):
            continue
        operation["security"] = [{"ApiKey": []}]
        operation.setdefault("responses", {})["401"] = {
            "description": "missing or invalid API key", **({"content": body} if error else {}),
        }
