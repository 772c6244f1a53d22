"""Routes serving the dashboard's files from the package (no CDN, no build step)."""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from shared.web.errors import error_response

STATIC: Final = files("workflows_svc.ui") / "static"
MEDIA_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page loads only its own files and talks only to its own origin.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


def _served_names() -> frozenset[str]:
    """The files a request may name: exactly those shipped in static/ (no path is joined)."""
    return frozenset(
        entry.name for entry in STATIC.iterdir()
        if entry.is_file() and any(entry.name.endswith(ext) for ext in MEDIA_TYPES)
    )


SERVED: Final = _served_names()


def _file(name: str) -> Response:
    if name not in SERVED:
        return error_response(404, "Not Found")
    media_type = MEDIA_TYPES["." + name.rsplit(".", 1)[-1]]
    body = (STATIC / name).read_bytes()
    return Response(body, media_type=media_type, headers=SECURITY_HEADERS)


@router.get("")
async def dashboard() -> Response:
    """The dashboard's single page; its views are chosen by the URL's fragment."""
    return _file("index.html")


@router.get("/")
async def dashboard_slash() -> RedirectResponse:
    return RedirectResponse("../ui", status_code=308)


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """One of the dashboard's own files."""
    return _file(name)
