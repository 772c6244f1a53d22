"""An `http-request` action rendered into the request it sends (templates resolved)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from shared.actions import HttpRequestAction
from shared.domain.execution_record import action_key
from shared.domain.run_context import RunContext

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Outbound:
    """The request to send: final URL (query merged), headers, body bytes."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


def outbound(action: HttpRequestAction, context: RunContext) -> Outbound:
    """Render `action` in `context`; raises TemplateError naming a reference not found."""
    url = _text(context.render(action.url).value)
    if action.query:
        query = context.render(action.query).value
        url = str(URL(url).update_query({k: _param(v) for k, v in query.items()}))
    headers = {k: _text(v) for k, v in context.render(action.headers or {}).value.items()}
    content = None
    if action.body is not None:
        body = context.render(action.body).value
        content, default_type = _encoded(body)
        headers.setdefault("content-type", action.content_type or default_type)
    elif action.content_type:
        headers["content-type"] = action.content_type
    # The same on every attempt of this action in this execution: targets drop duplicates.
    headers["idempotency-key"] = f"{context.execution_id}:{action_key(action)}"
    return Outbound(method=action.method, url=url, headers=headers, content=content)


def _encoded(body: Any) -> tuple[bytes, str]:
    """A string is sent as is; any other JSON value as JSON."""
    if isinstance(body, str):
        return body.encode(), TEXT_TYPE
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), JSON_TYPE


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value)
