"""HTTP-only helpers for the end-to-end tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.polling import eventually

Json = dict[str, Any]


def api_client(base_url: str, *, timeout_s: float = 15.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout_s)


def unique_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def log_action(message: str) -> Json:
    return {"type": "log", "message": message}


def http_action(url: str, method: str = "GET") -> Json:
    return {"type": "http-request", "url": url, "method": method}


async def create_workflow(
    client: httpx.AsyncClient, workflow_id: str, actions: list[Json],
    trigger: Json | None = None,
) -> None:
    body = {"workflowId": workflow_id, "trigger": trigger or {"type": "manual"},
            "actions": actions}
    response = await client.post("/workflows", json=body)
    assert response.status_code == 201, response.text
    assert response.json() == {"workflowId": workflow_id}


async def trigger(client: httpx.AsyncClient, workflow_id: str) -> httpx.Response:
    return await client.post(f"/workflows/{workflow_id}/trigger")


async def create_and_trigger(
    client: httpx.AsyncClient, workflow_id: str, actions: list[Json],
) -> httpx.Response:
    """Create a manual workflow and trigger it once; the trigger must be accepted."""
    await create_workflow(client, workflow_id, actions)
    response = await trigger(client, workflow_id)
    assert response.status_code == 200, response.text
    return response


async def run_once(
    client: httpx.AsyncClient, workflow_id: str, actions: list[Json], *, timeout_s: float = 20.0,
) -> Json:
    """Create a manual workflow, trigger it, and return its one finished execution."""
    await create_and_trigger(client, workflow_id, actions)
    [execution] = await wait_finished(client, workflow_id, timeout_s=timeout_s)
    return execution


async def executions(client: httpx.AsyncClient, workflow_id: str) -> list[Json]:
    """Every execution of the workflow, newest first (follows the pages)."""
    items: list[Json] = []
    params: dict[str, str] = {"limit": "200"}
    while True:
        response = await client.get(f"/workflows/{workflow_id}/executions", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


async def workflow(client: httpx.AsyncClient, workflow_id: str) -> Json:
    response = await client.get(f"/workflows/{workflow_id}")
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def wait_finished(
    client: httpx.AsyncClient, workflow_id: str, *, count: int = 1, timeout_s: float = 20.0,
) -> list[Json]:
    """Wait until `count` executions exist, none pending, and the workflow is idle again."""

    async def probe() -> list[Json] | None:
        found = await executions(client, workflow_id)
        if len(found) < count or any(e["status"] == "pending" for e in found):
            return None
        state = await workflow(client, workflow_id)
        if state["status"] != "active" or state["trigger"]["status"] is not None:
            return None
        return found

    return await eventually(
        probe, timeout_s=timeout_s, interval_s=0.05,
        what=f"{count} finished execution(s) of {workflow_id}",
    )
