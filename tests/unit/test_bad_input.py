"""Hostile and borderline requests to workflows_svc, and the optional API key.

Each bad request gets a clear 4xx `{"error": ...}` and stores nothing (GET /workflows lists
nothing). What tests/unit/test_api_create.py covers already (the validation table, truncated
JSON, a non-UTF-8 body, 50k-deep nesting, non-JSON content types, the 413 of a small limit)
is not repeated here.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from shared.infra.settings import Settings

LOG = {"type": "log", "message": "hello"}
HTTP = {"type": "http-request", "url": "https://example.com/hook", "method": "POST"}
JSON = {"content-type": "application/json"}
DEPTH = 100_000


def workflow(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"workflowId": "wf", "trigger": {"type": "manual"}, "actions": [LOG]}
    body.update(overrides)
    return body


async def listed(api: httpx.AsyncClient) -> list[str]:
    """Ids of the stored workflows, read over the API."""
    response = await api.get("/workflows", params={"limit": 200})
    assert response.status_code == 200, response.text
    return [item["workflow_id"] for item in response.json()["items"]]


async def assert_rejected(response: httpx.Response, status: int, mentions: str = "") -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert isinstance(error, str) and error
    assert mentions in error
    return error


# --- deeply nested and huge documents ------------------------------------------------------


def nested(opening: bytes, closing: bytes) -> bytes:
    """A workflow whose log message is a value nested DEPTH levels deep."""
    value = opening * DEPTH + b"1" + closing * DEPTH
    return (b'{"workflowId": "deep", "trigger": {"type": "manual"}, '
            b'"actions": [{"type": "log", "message": ' + value + b"}]}")


@pytest.mark.parametrize(
    "raw",
    [nested(b"[", b"]"), nested(b'{"a":', b"}")],
    ids=["lists", "objects"],
)
async def test_document_nested_100k_deep_is_400_and_not_stored(
    api: httpx.AsyncClient, settings: Settings, raw: bytes
) -> None:
    assert len(raw) < settings.max_body_bytes  # refused for its depth, not its size

    response = await api.post("/workflows", content=raw, headers=JSON)

    error = await assert_rejected(response, 400)
    assert error == "request body is nested too deeply"
    assert await listed(api) == []
    after = await api.post("/workflows", json=workflow())
    assert after.status_code == 201, "the app must keep serving after a hostile body"


def huge(char: str) -> dict[str, Any]:
    """As big as the schema allows: 100 actions of 10,000 characters each."""
    actions: list[dict[str, Any]] = [
        {"type": "log", "message": f"{n:04d}" + char * 9_996} for n in range(99)
    ]
    actions.append({**HTTP, "url": "https://example.com/" + "p" * 2_028})
    return workflow(workflowId="w" * 200, actions=actions)


async def test_huge_valid_document_under_the_byte_limit_is_stored_whole(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    body = huge("x")
    raw = json.dumps(body).encode()
    assert 0.9 * settings.max_body_bytes < len(raw) <= settings.max_body_bytes

    response = await api.post("/workflows", content=raw, headers=JSON)

    assert response.status_code == 201, response.text[:300]
    stored = await api.get(f"/workflows/{'w' * 200}")
    assert stored.status_code == 200
    actions = stored.json()["actions"]
    assert [a["action_id"] for a in actions] == list(range(1, 101))
    assert [a["message"] for a in actions[:99]] == [a["message"] for a in body["actions"][:99]]
    assert actions[99]["url"] == body["actions"][99]["url"]


async def test_huge_valid_document_over_the_byte_limit_is_413_and_not_stored(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    raw = json.dumps(huge("€"), ensure_ascii=False).encode()  # 3 bytes a character
    assert len(raw) > 2 * settings.max_body_bytes

    response = await api.post("/workflows", content=raw, headers=JSON)

    assert await assert_rejected(response, 413) == "request body too large"
    assert await listed(api) == []


# --- the schema's limits, at and just past the boundary -----------------------------------


@pytest.mark.parametrize(
    ("body", "stored_id"),
    [
        pytest.param(workflow(actions=[{"type": "log", "message": "m" * 10_000}]), "wf",
                     id="message-10000"),
        pytest.param(workflow(actions=[{"type": "log", "message": "é" * 10_000}]), "wf",
                     id="message-10000-two-byte-chars"),
        pytest.param(workflow(workflowId="i" * 200), "i" * 200, id="workflowId-200"),
        pytest.param(workflow(actions=[{**HTTP, "url": "http://h/" + "u" * 2_039}]), "wf",
                     id="url-2048"),
        pytest.param(workflow(actions=[LOG] * 100), "wf", id="actions-100"),
        pytest.param(workflow(workflowId="ünïcødé ✓ \x7f"), "ünïcødé ✓ \x7f",
                     id="workflowId-non-ascii"),
    ],
)
async def test_at_the_limit_is_accepted_and_stored(
    api: httpx.AsyncClient, body: dict[str, Any], stored_id: str
) -> None:
    response = await api.post("/workflows", json=body)

    assert response.status_code == 201, response.text[:300]
    stored = await api.get(f"/workflows/{quote(stored_id, safe='')}")
    assert stored.status_code == 200
    assert stored.json()["workflow_id"] == stored_id
    assert [a.get("message") or a["url"] for a in stored.json()["actions"]] == [
        a.get("message") or a["url"] for a in body["actions"]
    ]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        pytest.param(workflow(actions=[{"type": "log", "message": "m" * 10_001}]), "message",
                     id="message-10001"),
        pytest.param(workflow(workflowId="i" * 201), "workflowId", id="workflowId-201"),
        pytest.param(workflow(actions=[{**HTTP, "url": "http://h/" + "u" * 2_040}]), "url",
                     id="url-2049"),
        pytest.param(workflow(actions=[LOG] * 101), "actions", id="actions-101"),
        *[
            pytest.param(workflow(workflowId=bad), "workflowId", id=f"workflowId-{bad!r}")
            for bad in ["a\x00b", "line\nbreak", "\t", "a\x1fb", "\x1b[31mred", "wf\r"]
        ],
    ],
)
async def test_past_the_limit_or_with_control_characters_is_400_and_not_stored(
    api: httpx.AsyncClient, body: dict[str, Any], mentions: str
) -> None:
    response = await api.post("/workflows", json=body)

    await assert_rejected(response, 400, mentions)
    assert await listed(api) == []


# --- unknown fields and undecodable text ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        pytest.param(workflow(owner="eve"), "owner", id="top-level"),
        pytest.param({**workflow(), "workflow_id": "wf"}, "workflow_id", id="snake-case-twin"),
        pytest.param({k: v for k, v in {**workflow(), "workflow_id": "wf"}.items()
                      if k != "workflowId"}, "workflow_id", id="snake-case-instead"),
        pytest.param(workflow(trigger={"type": "manual", "cron": "* * * * *"}), "cron",
                     id="in-trigger"),
        # (`level` and `headers`, the v1 examples, are Part II fields now: SPEC 11.)
        pytest.param(workflow(actions=[{**LOG, "colour": "red"}]), "colour", id="in-log-action"),
        pytest.param(workflow(actions=[{**HTTP, "cookies": {"x": "y"}}]), "cookies",
                     id="in-http-action"),
    ],
)
async def test_unknown_field_is_400_naming_it_and_not_stored(
    api: httpx.AsyncClient, body: dict[str, Any], mentions: str
) -> None:
    response = await api.post("/workflows", json=body)

    error = await assert_rejected(response, 400, mentions)
    assert "not permitted" in error
    assert await listed(api) == []


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        pytest.param(json.dumps(workflow(workflowId="café"), ensure_ascii=False).encode("latin-1"),
                     "application/json; charset=latin-1", "request body is not valid UTF-8",
                     id="latin-1-body"),
        pytest.param(b'{"workflowId": "\\ud800", "trigger": {"type": "manual"}, '
                     b'"actions": [{"type": "log", "message": "x"}]}', "application/json",
                     "workflowId", id="lone-surrogate-in-id"),
        pytest.param(b'{"workflowId": "wf", "trigger": {"type": "manual"}, '
                     b'"actions": [{"type": "log", "message": "\\udc80"}]}', "application/json",
                     "message", id="lone-surrogate-in-message"),
    ],
)
async def test_undecodable_text_is_400_and_not_stored(
    api: httpx.AsyncClient, raw: bytes, content_type: str, expected: str
) -> None:
    response = await api.post("/workflows", content=raw, headers={"content-type": content_type})

    await assert_rejected(response, 400, expected)
    assert await listed(api) == []


@pytest.mark.parametrize("segment", ["%FF", "%ED%A0%80", "a%00b", "%C0%AF"])
async def test_invalid_utf8_or_nul_in_the_path_is_404_not_a_crash(
    api: httpx.AsyncClient, segment: str
) -> None:
    assert (await api.post("/workflows", json=workflow())).status_code == 201

    for method, path in [
        ("GET", f"/workflows/{segment}"), ("DELETE", f"/workflows/{segment}"),
        ("POST", f"/workflows/{segment}/trigger"), ("GET", f"/workflows/{segment}/executions"),
        ("GET", f"/executions/{segment}"),
    ]:
        response = await api.request(method, path)
        await assert_rejected(response, 404, "not found")
    assert await listed(api) == ["wf"]


# --- the optional API key ------------------------------------------------------------------

KEY = "s3cret-Key-0123456789"
WITH_KEY = pytest.mark.parametrize("settings", [{"api_key": KEY}], indirect=True)
GUARDED = [
    ("POST", "/workflows"), ("GET", "/workflows"), ("GET", "/workflows/wf"),
    ("DELETE", "/workflows/wf"), ("POST", "/workflows/wf/trigger"),
    ("GET", "/workflows/wf/executions"), ("GET", "/executions/some-id"),
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/no-such-path"),
]
WRONG_KEYS: list[dict[str, Any]] = [
    {},
    {"X-API-Key": ""},
    {"X-API-Key": "wrong"},
    {"X-API-Key": KEY[:-1]},
    {"X-API-Key": KEY + "x"},
    {"X-API-Key": KEY.upper()},
    {"X-API-Key": f" {KEY}"},
    {"X-API-Key": "\xff\xfe".encode("latin-1")},
    {"Authorization": f"Bearer {KEY}"},
    {"X-API-Key-Other": KEY},
]


@WITH_KEY
@pytest.mark.parametrize(("method", "path"), GUARDED)
async def test_guarded_endpoint_is_401_without_the_right_key(
    api: httpx.AsyncClient, method: str, path: str
) -> None:
    for headers in WRONG_KEYS:
        response = await api.request(method, path, json=workflow(), headers=headers)

        assert response.status_code == 401, (headers, response.text)
        assert response.json() == {"error": "missing or invalid API key"}
    assert (await api.get("/workflows", headers={"X-API-Key": KEY})).json()["items"] == []


@WITH_KEY
async def test_every_endpoint_works_with_the_key(api: httpx.AsyncClient) -> None:
    api.headers["x-api-key"] = KEY  # header names are case-insensitive

    assert (await api.post("/workflows", json=workflow())).status_code == 201
    assert (await api.get("/workflows")).json()["items"][0]["workflow_id"] == "wf"
    assert (await api.get("/workflows/wf")).status_code == 200
    assert (await api.post("/workflows/wf/trigger")).status_code == 200
    assert (await api.get("/workflows/wf/executions")).status_code == 200
    assert (await api.get("/executions/unknown")).status_code == 404
    assert (await api.delete("/workflows/wf")).status_code == 204
    assert (await api.get("/docs")).status_code == 200
    document = (await api.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
    }
    assert "401" in document["paths"]["/workflows"]["post"]["responses"]
    assert "401" not in document["paths"]["/health"]["get"]["responses"]


@WITH_KEY
@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
async def test_health_readiness_and_metrics_need_no_key(
    api: httpx.AsyncClient, path: str
) -> None:
    response = await api.get(path)

    assert response.status_code == 200, response.text


async def test_without_a_configured_key_no_key_is_needed(api: httpx.AsyncClient) -> None:
    response = await api.post("/workflows", json=workflow(), headers={"X-API-Key": "anything"})

    assert response.status_code == 201
    document = (await api.get("/openapi.json")).json()
    assert "securitySchemes" not in document.get("components", {})
