"""HTTP plumbing every service shares: error bodies and the OpenAPI amendments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    Overloaded,
    RateLimited,
    Unavailable,
    UnsupportedMediaType,
)
from shared.infra.logs import get_logger

log = get_logger(__name__)
_STATUS = {
    InvalidInput: 400, NotFound: 404, Conflict: 409, UnsupportedMediaType: 415,
    RateLimited: 429, Overloaded: 503, Unavailable: 503,
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
    if isinstance(exc, RateLimited | Overloaded):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Unavailable):
        log.warning("dependency unavailable", error=exc.message, cause=repr(exc.__cause__))
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


async def _unexpected(_: Request, __: Exception) -> Response:
    # Starlette's outermost middleware calls this for any exception no other handler took,
    # then re-raises it, so the server still logs the traceback; the client gets JSON.
    return error_response(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers `{"error": "<message>"}` with the matching status."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    _document_validation_as_400(app)


def _document_validation_as_400(app: FastAPI) -> None:
    """Drop the 422 FastAPI documents for every route: validation errors answer 400 here.

    Each route lists the 400 it can give (an `{"error": ...}` body) in its own `responses`.
    """

    def amend(schema: dict[str, Any]) -> None:
        for _, operation in operations(schema):
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


def operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, operation)
        for path, item in schema.get("paths", {}).items()
        for operation in item.values()
    ]
