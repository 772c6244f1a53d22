"""SPEC 12's endpoints are described in the OpenAPI document, bodies and answers with examples."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

OPERATIONS = [
    ("put", "/workflows/{workflow_id}"), ("get", "/workflows/{workflow_id}/versions/{version}"),
    ("post", "/workflows/{workflow_id}/pause"), ("post", "/workflows/{workflow_id}/resume"),
    ("get", "/executions"), ("post", "/executions/{execution_id}/retry"),
    ("post", "/executions/{execution_id}/cancel"),
]


def _schema(doc: dict[str, Any], ref_holder: dict[str, Any]) -> dict[str, Any]:
    schema = ref_holder["schema"]
    for option in schema.get("anyOf", [schema]):
        if "$ref" in option:
            found: dict[str, Any] = doc["components"]["schemas"][option["$ref"].split("/")[-1]]
            return found
    return dict(schema)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
async def test_every_new_body_and_answer_has_an_example(
    api: httpx.AsyncClient, method: str, path: str
) -> None:
    doc = (await api.get("/openapi.json")).json()
    operation = doc["paths"][path][method]

    assert operation.get("description") or operation.get("summary")
    answer = operation["responses"]["200"]["content"]["application/json"]
    assert _schema(doc, answer).get("examples"), f"{method} {path}: answer without example"
    assert "409" in operation["responses"] or method == "get"
    body = operation.get("requestBody")
    if body is not None:
        content = body["content"]["application/json"]
        assert content.get("examples") or _schema(doc, content).get("examples")


async def test_the_list_filters_are_documented(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/openapi.json")).json()
    workflows = {p["name"] for p in doc["paths"]["/workflows"]["get"]["parameters"]}
    executions = {p["name"] for p in doc["paths"]["/executions"]["get"]["parameters"]}

    assert {"status", "trigger_type", "paused", "archived", "limit", "cursor"} <= workflows
    assert {"workflow_id", "status", "limit", "cursor"} <= executions
