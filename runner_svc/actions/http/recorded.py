"""What an `http-request` records of the answer: status, content type, body (capped)."""

from __future__ import annotations

import json
from typing import Any


def recorded_response(
    status: int, content_type: str | None, body: bytes, *, max_bytes: int, complete: bool
) -> dict[str, Any]:
    """The `response` of the result: the body parsed when JSON (and whole), else text.

    `complete` is False when the body read stopped at the response cap (more may follow)."""
    truncated = len(body) > max_bytes or not complete
    kept = body[:max_bytes]
    recorded: dict[str, Any] = {"status": status, "content_type": content_type}
    parsed = _json(kept, content_type) if not truncated else None
    recorded["body"] = parsed if parsed is not None else kept.decode("utf-8", errors="replace")
    if truncated:
        recorded["truncated"] = True
    return recorded


def _json(body: bytes, content_type: str | None) -> Any:
    media = (content_type or "").split(";")[0].strip().lower()
    if not (media == "application/json" or media.endswith("+json")) or not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
