"""Periodic workflows: the scheduler dispatches them again and again until archived."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx
import pytest

from tests.e2e.helpers import Json, create_workflow, executions, log_action, unique_id, workflow
from tests.polling import eventually

pytestmark = pytest.mark.e2e
OBSERVATION_S = 3.0


async def test_periodic_runs_repeatedly_until_archived(client: httpx.AsyncClient) -> None:
    workflow_id = unique_id("e2e-periodic")
    await create_workflow(
        client, workflow_id, [log_action("tick")], trigger={"type": "periodic", "interval": "1s"}
    )

    async def three_ok_runs() -> list[Json] | None:
        found = [e for e in await executions(client, workflow_id) if e["status"] == "ok"]
        return found if len(found) >= 3 else None

    runs = await eventually(three_ok_runs, timeout_s=30, what="3 periodic runs")
    created = [datetime.fromisoformat(e["created_at"]) for e in reversed(runs)]
    assert created == sorted(created)
    assert len(set(created)) == len(created)
    assert all(e["executed_actions"] == [
        {"action_id": 1, "status": "ok", "logs": "stdout: tick"}
    ] for e in runs)

    deleted = await client.delete(f"/workflows/{workflow_id}")
    assert deleted.status_code == 204, deleted.text

    # A run claimed before the archive may still finish; afterwards nothing may start.
    async def settled() -> Json | None:
        state = await workflow(client, workflow_id)
        return state if state["status"] != "locked" else None

    state = await eventually(settled, timeout_s=15, what="the in-flight run to finish")
    assert state["archived_at"] is not None
    before = await executions(client, workflow_id)
    assert all(e["status"] != "pending" for e in before)

    # Asserting an absence: watch the count over a short, fixed window.
    deadline = time.monotonic() + OBSERVATION_S
    while time.monotonic() < deadline:
        assert len(await executions(client, workflow_id)) == len(before)
        await asyncio.sleep(0.25)  # polling interval of the observation window

    archived = await workflow(client, workflow_id)
    assert archived["archived_at"] is not None
    assert archived["workflow_id"] == workflow_id
    refused = await client.post(f"/workflows/{workflow_id}/trigger")
    assert refused.status_code in (400, 409), refused.text
    assert "error" in refused.json()

