"""Manual workflows end to end: trigger -> Kafka -> runner -> recorded execution."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.e2e.helpers import (
    Json,
    api_client,
    create_and_trigger,
    create_workflow,
    executions,
    http_action,
    log_action,
    run_once,
    trigger,
    unique_id,
    wait_finished,
    workflow,
)
from tests.harness import Stack
from tests.polling import eventually
from tests.target_server import TargetServer
from tests.v1 import v1_entries

pytestmark = pytest.mark.e2e


def _log_lines(text: str) -> list[Json]:
    lines = []
    for raw in text.splitlines():
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines


async def test_log_action_runs_and_is_recorded(client: httpx.AsyncClient, stack: Stack) -> None:
    workflow_id = unique_id("e2e-log")
    message = f"hello {workflow_id}"
    response = await create_and_trigger(client, workflow_id, [log_action(message)])
    assert response.json() == {"status": "workflow triggered"}

    [execution] = await wait_finished(client, workflow_id)
    assert execution["status"] == "ok"
    assert v1_entries(execution["executed_actions"]) == [
        {"action_id": 1, "status": "ok", "logs": f"stdout: {message}"}
    ]
    assert execution["finished_at"] is not None
    assert execution["last_failed_action"] is None
    assert execution["total_actions"] == 1
    state = await workflow(client, workflow_id)
    assert state["status"] == "active"
    assert state["trigger"]["status"] is None

    log_path = stack.services["runner_svc"].log_path

    async def logged() -> list[Json]:
        text = await asyncio.to_thread(log_path.read_text, errors="replace")
        return [line for line in _log_lines(text) if line.get("message") == message]

    [line] = await eventually(logged, timeout_s=10, what="the runner's log line")
    assert line["workflow_id"] == workflow_id
    assert line["execution_id"] == execution["id"]
    assert line["service"] == "runner_svc"


async def test_http_request_to_the_target(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-http")
    url = f"{target.url}/ok"
    execution = await run_once(client, workflow_id, [http_action(url, "get")])

    assert (await workflow(client, workflow_id))["actions"][0]["method"] == "GET"
    assert execution["status"] == "ok"
    assert v1_entries(execution["executed_actions"]) == [{
        "action_id": 1, "status": "ok",
        "logs": f"{url} [STATUS 200] => " + "hello from the target server"[:50],
    }]


async def test_always_failing_target_ends_failed_then_accepts_a_new_trigger(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-fail")
    url = f"{target.url}/status/500"
    execution = await run_once(
        client, workflow_id, [http_action(url), log_action("never runs")], timeout_s=60
    )

    assert execution["status"] == "failed"
    assert execution["retries"] == 0
    assert execution["finished_at"] is not None
    assert execution["last_failed_action"] == 1
    failed = {"action_id": 1, "status": "failed", "logs": f"{url} [STATUS 500] => status 500"}
    assert v1_entries(execution["executed_actions"]) == [failed] * 4
    state = await workflow(client, workflow_id)
    assert state["trigger"]["status"] is None
    assert state["status"] == "active"

    again = await trigger(client, workflow_id)
    assert again.status_code == 200, again.text
    found = await wait_finished(client, workflow_id, count=2, timeout_s=60)
    assert [e["status"] for e in found] == ["failed", "failed"]
    assert found[0]["id"] != execution["id"]


async def test_concurrent_triggers_have_exactly_one_winner(
    stack: Stack, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-race")
    # A slow action keeps the run busy while the 20 requests arrive.
    async with api_client(stack.api, timeout_s=30.0) as http:
        await create_workflow(http, workflow_id, [http_action(f"{target.url}/slow?ms=3000")])
        responses = await asyncio.gather(*(trigger(http, workflow_id) for _ in range(20)))

        codes = sorted(r.status_code for r in responses)
        assert codes == [200] + [409] * 19, [r.text for r in responses]
        for refused in (r for r in responses if r.status_code == 409):
            assert refused.json()["status"] == "busy"
            assert refused.json()["error"]

        [execution] = await wait_finished(http, workflow_id)
        assert execution["status"] == "ok"
        assert len(await executions(http, workflow_id)) == 1
