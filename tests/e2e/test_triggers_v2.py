"""Triggers v2 and inputs with real processes: cron on the minute, once timers (also across
a scheduler and runner outage), a manual trigger's input, overlap skips in /metrics."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pymongo
import pytest

from tests.e2e.helpers import (
    Json,
    api_client,
    create_workflow,
    executions,
    http_action,
    log_action,
    unique_id,
    workflow,
)
from tests.e2e.stacks import StartStack
from tests.harness import Stack
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e
OBSERVATION_S = 4.0
ON_TIME_S = 5.0  # a slot's run starts within this (scheduler interval 1 s, wake-ups)


def created_at(execution: Json) -> datetime:
    return datetime.fromisoformat(execution["created_at"])


async def runs(client: httpx.AsyncClient, workflow_id: str, n: int, timeout_s: float
               ) -> list[Json]:
    async def enough() -> list[Json] | None:
        found = await executions(client, workflow_id)
        return found if len(found) >= n else None

    return await eventually(enough, timeout_s=timeout_s, what=f"{n} run(s) of {workflow_id}")


async def stays_at(client: httpx.AsyncClient, workflow_id: str, n: int) -> None:
    """Asserting an absence: the count stays `n` over a short, fixed window."""
    deadline = time.monotonic() + OBSERVATION_S
    while time.monotonic() < deadline:
        assert len(await executions(client, workflow_id)) == n
        await asyncio.sleep(0.25)  # polling interval of the observation window


async def test_a_minutely_cron_fires_on_the_minute(client: httpx.AsyncClient) -> None:
    workflow_id = unique_id("e2e-cron")
    await create_workflow(client, workflow_id, [log_action("cron")],
                          trigger={"type": "cron", "cron": "* * * * *"})
    shown = await workflow(client, workflow_id)
    slot = datetime.fromisoformat(shown["trigger"]["next_run"])
    assert (slot.second, slot.microsecond) == (0, 0)
    assert 0 < shown["seconds_to_next_run"] <= 60

    (run,) = await runs(client, workflow_id, 1, timeout_s=75)

    assert slot <= created_at(run) < slot + timedelta(seconds=ON_TIME_S)
    after = await workflow(client, workflow_id)
    assert datetime.fromisoformat(after["trigger"]["next_run"]) == slot + timedelta(minutes=1)


async def test_a_once_timer_after_3s_fires_exactly_once(client: httpx.AsyncClient) -> None:
    workflow_id = unique_id("e2e-once")
    await create_workflow(client, workflow_id, [log_action("once")],
                          trigger={"type": "once", "after": "3s"})
    due = datetime.fromisoformat((await workflow(client, workflow_id))["trigger"]["next_run"])

    (run,) = await runs(client, workflow_id, 1, timeout_s=20)

    assert due <= created_at(run) < due + timedelta(seconds=ON_TIME_S)
    await stays_at(client, workflow_id, 1)
    state = await workflow(client, workflow_id)
    assert state["trigger"]["next_run"] is None and state["seconds_to_next_run"] == 0


async def test_a_once_timer_due_during_an_outage_fires_once_after_it(
    start_stack: StartStack,
) -> None:
    with start_stack(label="once-outage") as stack:
        async with api_client(stack.api) as client:
            await _timer_across_an_outage(stack, client)


async def _timer_across_an_outage(stack: Stack, client: httpx.AsyncClient) -> None:
    workflow_id = unique_id("e2e-once-outage")
    for name in ("scheduler_svc", "runner_svc"):
        stack.services[name].terminate()
    await create_workflow(client, workflow_id, [log_action("late")],
                          trigger={"type": "once", "after": "2s"})
    due = datetime.fromisoformat((await workflow(client, workflow_id))["trigger"]["next_run"])

    async def well_overdue() -> bool:  # the outage outlasts the timer by a second
        state = await workflow(client, workflow_id)
        return state["seconds_to_next_run"] == 0 and (
            datetime.now(UTC) > due + timedelta(seconds=1))

    await eventually(well_overdue, timeout_s=15, what="the timer to be overdue")
    assert await executions(client, workflow_id) == []
    for name in ("scheduler_svc", "runner_svc"):
        stack.services[name].start()

    (run,) = await runs(client, workflow_id, 1, timeout_s=60)
    assert run["status"] in ("ok", "pending")
    await stays_at(client, workflow_id, 1)


def stored_execution(stack: Stack, execution_id: str) -> dict[str, Any] | None:
    with pymongo.MongoClient(stack.mongo_url, serverSelectionTimeoutMS=5000) as mongo:
        return mongo[stack.database_name]["executions"].find_one({"id": execution_id})


async def test_a_manual_trigger_with_input_runs_with_it(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    workflow_id = unique_id("e2e-input")
    response = await client.post("/workflows", json={
        "workflowId": workflow_id, "trigger": {"type": "manual"},
        "inputs": {"customer": {"type": "string", "required": True},
                   "limit": {"type": "integer", "default": 10}},
        "actions": [log_action("with input")],
    })
    assert response.status_code == 201, response.text
    refused = await client.post(f"/workflows/{workflow_id}/trigger")
    assert refused.status_code == 400 and "customer" in refused.json()["error"]

    accepted = await client.post(f"/workflows/{workflow_id}/trigger",
                                 json={"input": {"customer": "acme"}})
    assert accepted.status_code == 200, accepted.text

    (run,) = await runs(client, workflow_id, 1, timeout_s=20)
    # Read from the store: the API's execution answer is extended by the lifecycle work.
    stored = stored_execution(stack, run["id"])
    assert stored is not None and stored["input"] == {"customer": "acme", "limit": 10}


def skipped_slots(stack: Stack) -> float:
    text = httpx.get(f"{stack.services['runner_svc'].url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith('workflow_skipped_slots_total{reason="overlap"}'):
            return float(line.split()[-1])
    return 0.0


async def test_slots_during_a_slow_run_are_skipped_and_counted(
    stack: Stack, client: httpx.AsyncClient, target: TargetServer
) -> None:
    before = skipped_slots(stack)
    workflow_id = unique_id("e2e-overlap")
    await create_workflow(client, workflow_id, [http_action(f"{target.url}/slow?ms=3500")],
                          trigger={"type": "periodic", "interval": "1s"})

    first, *_ = reversed(await runs(client, workflow_id, 1, timeout_s=20))

    async def counted() -> float | None:
        found = [e for e in await executions(client, workflow_id) if e["status"] == "ok"]
        return skipped_slots(stack) if found else None

    after = await eventually(counted, timeout_s=20, what="the slow run to end")
    assert after >= before + 2, (before, after)
    assert (await client.delete(f"/workflows/{workflow_id}")).status_code == 204
    assert created_at(first) < datetime.now(UTC)
