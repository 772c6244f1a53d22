"""Periodic workflows: the scheduler dispatches them again and again until archived."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx
import pytest

from tests.e2e.helpers import (
    Json,
    api_client,
    create_workflow,
    executions,
    log_action,
    unique_id,
    workflow,
)
from tests.e2e.stacks import StartStack
from tests.polling import eventually
from tests.v1 import v1_entries

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
    assert all(v1_entries(e["executed_actions"]) == [
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



async def test_first_run_of_a_new_workflow_is_on_time_with_a_long_scheduler_interval(
    start_stack: StartStack,
) -> None:
    """The scheduler sleeps up to SCHEDULER_INTERVAL (60 s here) but wakes for a new
    workflow's first slot from the MongoDB change stream: the run starts on time."""
    with start_stack(label="wakeups", env={"SCHEDULER_INTERVAL": "60"}) as stack:
        async with api_client(stack.api) as client:
            log_path = stack.services["scheduler_svc"].log_path

            async def stream_open() -> bool:
                return "watching next_run changes" in log_path.read_text(errors="replace")

            await eventually(stream_open, timeout_s=15, what="the scheduler's change stream")
            workflow_id = unique_id("e2e-first-run")
            await create_workflow(client, workflow_id, [log_action("first")],
                                  trigger={"type": "periodic", "interval": "2s"})
            created = datetime.fromisoformat((await workflow(client, workflow_id))["created_at"])

            async def first_run() -> list[Json]:
                return await executions(client, workflow_id)

            runs = await eventually(first_run, timeout_s=15, what="the first run")
            lateness_s = (datetime.fromisoformat(runs[-1]["created_at"]) - created).total_seconds()
            assert 2.0 <= lateness_s < 5.0, f"first run {lateness_s:.2f} s after creation"

