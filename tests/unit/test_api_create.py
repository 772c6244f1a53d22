"""POST /workflows: the validation table of SPEC 4, what gets stored, and hostile bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.adapters.memory import InMemoryWorkflowRepository
from shared.domain.models import TriggerType, WorkflowStatus
from tests.fakes.clock import FakeClock

LOG = {"type": "log", "message": "hello"}
HTTP = {"type": "http-request", "url": "https://example.com/hook", "method": "POST"}


def body(**overrides: Any) -> dict[str, Any]:
    """A valid manual workflow with some fields replaced (or removed, with `...`)."""
    base: dict[str, Any] = {"workflowId": "wf", "trigger": {"type": "manual"}, "actions": [LOG]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def periodic(interval: Any = ...) -> dict[str, Any]:
    trigger = {"type": "periodic", "interval": interval}
    return body(trigger={k: v for k, v in trigger.items() if v is not ...})


async def nothing_stored(workflows: InMemoryWorkflowRepository) -> bool:
    return await workflows.list_after(after_id=None, limit=10) == []


INVALID = [
    pytest.param(body(workflowId=...), "workflowId", id="workflowId-missing"),
    pytest.param(body(workflowId=""), "workflowId", id="workflowId-empty"),
    pytest.param(body(workflowId=42), "workflowId", id="workflowId-int"),
    pytest.param(body(workflowId=["wf"]), "workflowId", id="workflowId-list"),
    pytest.param(body(trigger=...), "trigger", id="trigger-missing"),
    pytest.param(body(trigger={}), "trigger.type", id="trigger-type-missing"),
    pytest.param(body(trigger={"type": "cron"}), "trigger.type", id="trigger-type-unknown"),
    pytest.param(
        body(trigger={"type": "manual", "interval": "5s"}), "interval", id="manual-with-interval"
    ),
    pytest.param(periodic(), "interval", id="periodic-no-interval"),
    pytest.param(periodic(None), "interval", id="periodic-null-interval"),
    *[
        pytest.param(periodic(bad), "interval", id=f"interval-{bad!r}")
        for bad in [
            "0s",
            "10",
            "10d",
            "abc",
            "-5s",
            "1.5s",
            " 5s",
            "5s ",
            "5s\n",
            "",
            "5S",
            "9999999999h",
        ]
    ],
    pytest.param(periodic(10), "interval", id="interval-int"),
    pytest.param(body(actions=...), "actions", id="actions-missing"),
    pytest.param(body(actions=[]), "actions", id="actions-empty"),
    pytest.param(body(actions=LOG), "actions", id="actions-object"),
    pytest.param(body(actions="log"), "actions", id="actions-string"),
    pytest.param(body(actions=[{"type": "email", "to": "x"}]), "email", id="action-unknown"),
    pytest.param(body(actions=[{"message": "x"}]), "actions", id="action-no-type"),
    pytest.param(body(actions=[{"type": "log"}]), "message", id="log-no-message"),
    pytest.param(body(actions=[{"type": "log", "message": ""}]), "message", id="log-empty-message"),
    pytest.param(body(actions=[{"type": "log", "message": 3}]), "message", id="log-message-int"),
    pytest.param(
        body(actions=[LOG, {"type": "http-request", "method": "GET"}]), "url", id="http-no-url"
    ),
    pytest.param(body(actions=[{**HTTP, "url": "/relative/path"}]), "url", id="http-relative"),
    pytest.param(body(actions=[{**HTTP, "url": "ftp://example.com/f"}]), "url", id="http-ftp"),
    pytest.param(body(actions=[{**HTTP, "url": "https://"}]), "url", id="http-no-host"),
    pytest.param(body(actions=[{**HTTP, "method": "FETCH"}]), "method", id="http-bad-method"),
    pytest.param(
        body(actions=[{"type": "http-request", "url": HTTP["url"]}]), "method", id="http-no-method"
    ),
]


@pytest.mark.parametrize(("payload", "mentions"), INVALID)
async def test_invalid_definition_is_400_and_not_stored(
    api: httpx.AsyncClient,
    workflows: InMemoryWorkflowRepository,
    payload: dict[str, Any],
    mentions: str,
) -> None:
    response = await api.post("/workflows", json=payload)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert isinstance(error, str)
    assert mentions in error
    assert await nothing_stored(workflows)


@pytest.mark.parametrize(
    ("interval", "interval_ms"),
    [
        ("1s", 1_000),
        ("30s", 30_000),
        ("5m", 300_000),
        ("1h", 3_600_000),
        ("8784h", 366 * 24 * 3_600_000),
    ],
)
async def test_periodic_interval_is_stored_with_next_run(
    api: httpx.AsyncClient,
    workflows: InMemoryWorkflowRepository,
    clock: FakeClock,
    interval: str,
    interval_ms: int,
) -> None:
    clock.advance(12.345)

    response = await api.post("/workflows", json=periodic(interval))

    assert response.status_code == 201, response.text
    assert response.json() == {"workflowId": "wf"}
    stored = await workflows.get("wf")
    assert stored is not None
    assert stored.status == WorkflowStatus.ACTIVE
    assert stored.created_at == clock.now()
    assert stored.trigger.type == TriggerType.PERIODIC
    assert stored.trigger.interval == interval
    assert stored.trigger.interval_ms == interval_ms
    assert stored.trigger.next_run == stored.created_at + timedelta(milliseconds=interval_ms)
    assert stored.trigger.status is None


async def test_manual_workflow_is_stored_idle_with_numbered_actions(
    api: httpx.AsyncClient,
    workflows: InMemoryWorkflowRepository,
) -> None:
    actions = [
        {"type": "http-request", "url": "http://example.com/a", "method": "get"},
        {"type": "log", "message": "between"},
        {"type": "http-request", "url": "https://example.com/b?q=1", "method": "Patch"},
    ]

    response = await api.post("/workflows", json=body(workflowId="manual-1", actions=actions))

    assert response.status_code == 201, response.text
    assert response.json() == {"workflowId": "manual-1"}
    stored = await workflows.get("manual-1")
    assert stored is not None
    assert stored.status == WorkflowStatus.ACTIVE
    assert stored.trigger.type == TriggerType.MANUAL
    assert stored.trigger.next_run is None and stored.trigger.interval_ms is None
    assert [(a.action_id, a.type, getattr(a, "method", None)) for a in stored.actions] == [
        (1, "http-request", "GET"),
        (2, "log", None),
        (3, "http-request", "PATCH"),
    ]
    assert stored.actions[1].message == "between"
    assert stored.actions[2].url == "https://example.com/b?q=1"


@pytest.mark.parametrize("settings", [{"min_interval_s": 60}], indirect=True)
async def test_configured_minimum_interval(
    api: httpx.AsyncClient,
    workflows: InMemoryWorkflowRepository,
) -> None:
    too_short = await api.post("/workflows", json=periodic("30s"))
    assert too_short.status_code == 400
    assert "at least 60s" in too_short.json()["error"]
    assert await nothing_stored(workflows)

    at_minimum = await api.post("/workflows", json=periodic("1m"))
    assert at_minimum.status_code == 201, at_minimum.text


async def test_duplicate_workflow_id_is_409_and_keeps_the_original(
    api: httpx.AsyncClient,
    workflows: InMemoryWorkflowRepository,
) -> None:
    first = await api.post("/workflows", json=body())
    assert first.status_code == 201

    second = await api.post("/workflows", json=periodic("5m"))

    assert second.status_code == 409
    assert "wf" in second.json()["error"]
    stored = await workflows.get("wf")
    assert stored is not None and stored.trigger.type == TriggerType.MANUAL


# --- hostile bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        pytest.param(b'{"workflowId": "wf", ', "application/json", 400, id="truncated-json"),
        pytest.param(b"not json at all", "application/json", 400, id="not-json"),
        pytest.param(b"", "application/json", 400, id="empty-body"),
        pytest.param(
            b'{"workflowId": "wf\xff\xfe", "trigger": {"type": "manual"}}',
            "application/json",
            400,
            id="non-utf8",
        ),
        pytest.param(b"[" * 50_000 + b"]" * 50_000, "application/json", 400, id="nested-list"),
        pytest.param(
            b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "application/json", 400, id="nested-object"
        ),
        pytest.param(json.dumps(body()).encode(), "text/plain", 415, id="text-plain"),
        pytest.param(
            json.dumps(body()).encode(), "application/x-www-form-urlencoded", 415, id="form"
        ),
        pytest.param(json.dumps(body()).encode(), None, 415, id="no-content-type"),
    ],
)
async def test_unusable_body_is_4xx_and_not_stored(
    api: httpx.AsyncClient,
    workflows: InMemoryWorkflowRepository,
    content: bytes,
    content_type: str | None,
    status: int,
) -> None:
    headers = {"content-type": content_type} if content_type else {}

    response = await api.post("/workflows", content=content, headers=headers)

    assert response.status_code == status, response.text
    assert isinstance(response.json()["error"], str)
    assert await nothing_stored(workflows)


async def test_json_content_type_with_charset_is_accepted(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/workflows",
        content=json.dumps(body()).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201, response.text


SMALL_LIMIT = {"max_body_bytes": 512}


def large_body() -> bytes:
    raw = json.dumps(body(actions=[{"type": "log", "message": "x" * 600}])).encode()
    assert len(raw) > SMALL_LIMIT["max_body_bytes"]
    return raw


@pytest.mark.parametrize("settings", [SMALL_LIMIT], indirect=True)
async def test_body_over_limit_is_413_and_not_stored(
    api: httpx.AsyncClient,
    workflows: InMemoryWorkflowRepository,
) -> None:
    response = await api.post(
        "/workflows", content=large_body(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json() == {"error": "request body too large"}
    assert await nothing_stored(workflows)
    small = await api.post("/workflows", json=body())
    assert small.status_code == 201, "a body under the limit must still be accepted"


@pytest.mark.parametrize("settings", [SMALL_LIMIT], indirect=True)
async def test_chunked_body_over_limit_is_413_and_not_stored(
    api: httpx.AsyncClient,
    workflows: InMemoryWorkflowRepository,
) -> None:
    raw = large_body()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 100):
            yield raw[start : start + 100]

    response = await api.post(
        "/workflows", content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert "error" in response.json()
    assert await nothing_stored(workflows)


async def test_a_description_is_kept_shown_and_replaced_by_a_put(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository,
) -> None:
    """SPEC 9: `description` is optional free text; v1 definitions show it as null."""
    assert (await api.post("/workflows", json=body(workflowId="plain"))).status_code == 201
    assert (await api.get("/workflows/plain")).json()["description"] is None

    created = await api.post("/workflows", json=body(description="nightly report for acme"))
    assert created.status_code == 201, created.text
    stored = await workflows.get("wf")
    assert stored is not None and stored.description == "nightly report for acme"
    assert (await api.get("/workflows/wf")).json()["description"] == "nightly report for acme"

    replaced = await api.put("/workflows/wf", json=body(description="for acme and globex"))
    assert replaced.status_code == 200, replaced.text
    assert (await api.get("/workflows/wf")).json()["description"] == "for acme and globex"

    too_long = await api.post("/workflows", json=body(workflowId="long", description="x" * 2001))
    assert too_long.status_code == 400 and "description" in too_long.json()["error"]
    assert await workflows.get("long") is None


async def test_labels_are_kept_shown_and_checked(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository,
) -> None:
    """The labels `wfa apply` marks its workflows with (SPEC 13's --prune)."""
    created = await api.post("/workflows", json=body(labels={"managed-by": "wfa", "team": "ops"}))
    assert created.status_code == 201, created.text
    assert (await api.get("/workflows/wf")).json()["labels"] == {"managed-by": "wfa", "team": "ops"}
    assert (await api.get("/workflows")).json()["items"][0]["labels"]["managed-by"] == "wfa"

    for bad in ({"Bad Key": "x"}, {"k": 5}, {f"k{n}": "v" for n in range(21)}):
        refused = await api.post("/workflows", json=body(workflowId="other", labels=bad))
        assert refused.status_code == 400 and "labels" in refused.json()["error"], refused.text
    assert await workflows.get("other") is None
