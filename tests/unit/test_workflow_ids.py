"""Workflow ids (issue 13, #10): every id the API accepts is reachable at its URL; the ids
that are not (a `/`; a lone surrogate, refused already by the JSON parser) are refused with
a 400 naming `workflowId`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from shared.adapters.memory import InMemoryWorkflowRepository


def body(workflow_id: str) -> dict[str, Any]:
    return {"workflowId": workflow_id, "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "hello"}]}


def url(workflow_id: str, suffix: str = "") -> str:
    # Dots too: a client (curl, a browser) would resolve `.` / `..` segments itself.
    return f"/workflows/{quote(workflow_id, safe='').replace('.', '%2E')}{suffix}"


UNREACHABLE = ["s/x", "t/trigger", "/", "a/", "/a", "x/executions", "\ud800", "a\udfffb"]
# Reachable before the fix and so still accepted: anything printable without a `/`.
REACHABLE = [
    "wf", "recurrent-workflow", "wf-é", "a b", " ", "a%2Fb", "%2F", "a%", "a\\b", "a?b",
    "a#b", "a+b", ";", "~", ".", "..", "...", ".a", "\x7f", "\u2028", "😀", "x" * 200,
]


@pytest.mark.parametrize("workflow_id", UNREACHABLE)
async def test_an_id_that_cannot_be_addressed_is_400_naming_the_field(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository, workflow_id: str
) -> None:
    raw = json.dumps(body(workflow_id)).encode()  # ASCII: a lone surrogate as `\ud800`
    response = await api.post("/workflows", content=raw,
                              headers={"content-type": "application/json"})

    assert response.status_code == 400, response.text
    assert "workflowId" in response.json()["error"]
    assert await workflows.list_after(after_id=None, limit=10) == []


@pytest.mark.parametrize("workflow_id", REACHABLE)
async def test_every_accepted_id_is_reachable_read_trigger_and_archive(
    api: httpx.AsyncClient, workflow_id: str
) -> None:
    assert (await api.post("/workflows", json=body(workflow_id))).status_code == 201

    read = await api.get(url(workflow_id))
    assert read.status_code == 200, read.text
    assert read.json()["workflow_id"] == workflow_id
    assert (await api.post(url(workflow_id, "/trigger"))).status_code == 200
    assert (await api.get(url(workflow_id, "/executions"))).status_code == 200
    assert (await api.delete(url(workflow_id))).status_code == 204


def test_the_published_schema_states_the_rule(api: httpx.AsyncClient) -> None:
    app = api._transport.app  # type: ignore[attr-defined]
    schema = app.openapi()["components"]["schemas"]["WorkflowCreate"]
    pattern = schema["properties"]["workflowId"]["pattern"]

    assert "/" in pattern and "\\x00-\\x1f" in pattern
