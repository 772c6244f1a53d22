"""SPEC 12 end to end on real processes: PUT during a run, pause and resume, retry of a
failed execution (from its failed action, and `from` an action), cancel of a waiting
retry, and GET /executions with its filters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import httpx
import pytest
import pytest_asyncio

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
from tests.e2e.stacks import StartStack
from tests.harness import Stack
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e
OBSERVATION_S = 3.0
ATTEMPTS = 4  # EXECUTION_RETRIES' default: a flaky target failing 4 times fails the execution


@pytest.fixture(scope="module")
def long_backoff_stack(start_stack: StartStack) -> Iterator[Stack]:
    """A 40 s wait before the first retry, so a waiting execution stays waiting."""
    with start_stack(label="long-backoff", env={"RETRY_BACKOFF_SCALE": "10"}) as stack:
        yield stack


@pytest_asyncio.fixture
async def waiting_client(long_backoff_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(long_backoff_stack.api) as http:
        yield http


def definition(workflow_id: str, actions: list[Json], trigger_: Json | None = None) -> Json:
    return {"workflowId": workflow_id, "trigger": trigger_ or {"type": "manual"},
            "actions": actions}


async def only_execution(client: httpx.AsyncClient, workflow_id: str) -> Json:
    async def one() -> Json | None:
        found = await executions(client, workflow_id)
        return found[0] if len(found) == 1 else None
    return await eventually(one, timeout_s=15, what=f"the execution of {workflow_id}")


async def test_put_while_a_run_is_in_flight(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-put")
    await create_and_trigger(client, workflow_id, [
        http_action(f"{target.url}/slow?ms=1500"), log_action("v1 after"),
    ])
    running = await only_execution(client, workflow_id)  # created when its run started

    put = await client.put(f"/workflows/{workflow_id}", json=definition(
        workflow_id, [log_action("v2 only")]))
    assert put.status_code == 200, put.text
    assert put.json() == {"workflowId": workflow_id, "version": 2}

    [first] = await wait_finished(client, workflow_id)
    assert first["id"] == running["id"] and first["status"] == "ok"
    assert first["workflow_version"] == 1
    assert [e["name"] for e in first["executed_actions"]] == ["action-1", "action-2"]
    assert "v1 after" in first["executed_actions"][1]["logs"]
    assert (await trigger(client, workflow_id)).status_code == 200
    second, _ = await wait_finished(client, workflow_id, count=2)
    assert second["workflow_version"] == 2 and second["total_actions"] == 1
    assert "v2 only" in second["executed_actions"][0]["logs"]
    old = (await client.get(f"/workflows/{workflow_id}/versions/1")).json()
    assert [a["type"] for a in old["actions"]] == ["http-request", "log"]


async def test_pause_stops_periodic_runs_and_resume_restarts_them_on_the_grid(
    client: httpx.AsyncClient,
) -> None:
    workflow_id = unique_id("e2e-pause")
    await create_workflow(client, workflow_id, [log_action("tick")],
                          trigger={"type": "periodic", "interval": "1s"})
    await eventually(lambda: executions(client, workflow_id), timeout_s=10, what="a first run")

    paused = await client.post(f"/workflows/{workflow_id}/pause")
    assert paused.status_code == 200 and paused.json()["paused_at"] is not None
    refused = await trigger(client, workflow_id)
    assert refused.status_code == 409 and refused.json()["status"] == "paused"
    before = await wait_finished(client, workflow_id)  # a run claimed before the pause ends
    deadline = time.monotonic() + OBSERVATION_S  # asserting an absence: a fixed window
    while time.monotonic() < deadline:
        assert len(await executions(client, workflow_id)) == len(before)
        await asyncio.sleep(0.25)  # polling interval of the observation window

    resumed = await client.post(f"/workflows/{workflow_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["paused_at"] is None
    state = resumed.json()
    created_at = datetime.fromisoformat(state["created_at"])
    next_run = datetime.fromisoformat(state["trigger"]["next_run"])
    offset_ms = (next_run - created_at) / timedelta(milliseconds=1)
    assert offset_ms % 1000 == 0, "on the grid created_at + k * 1s"
    later = await wait_finished(client, workflow_id, count=len(before) + 1, timeout_s=10)
    newest = datetime.fromisoformat(later[0]["created_at"])
    assert newest >= next_run - timedelta(milliseconds=50), "missed slots were not caught up"
    await client.delete(f"/workflows/{workflow_id}")


async def test_a_failed_execution_retried_ends_ok_without_rerunning_what_succeeded(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-retry")
    first, flaky = f"/flaky/{workflow_id}-first", f"/flaky/{workflow_id}-second"
    failed = await run_once(client, workflow_id, [
        http_action(f"{target.url}{first}?fail=0"),
        http_action(f"{target.url}{flaky}?fail={ATTEMPTS}"), log_action("third"),
    ])
    assert failed["status"] == "failed" and failed["last_failed_action"] == 2
    assert (target.hits[first], target.hits[flaky]) == (1, ATTEMPTS)

    retried = await client.post(f"/executions/{failed['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["retries"]) == ("pending", ATTEMPTS)

    [done] = await wait_finished(client, workflow_id)
    assert done["id"] == failed["id"] and done["status"] == "ok"
    assert (target.hits[first], target.hits[flaky]) == (1, ATTEMPTS + 1), "action 1 not re-run"
    runs = [(e["name"], e["status"]) for e in done["executed_actions"]]
    assert runs == [("action-1", "ok"), *[("action-2", "failed")] * ATTEMPTS,
                    ("action-2", "ok"), ("action-3", "ok")]
    assert done["attempt"] == ATTEMPTS + 1
    again = await client.post(f"/executions/{failed['id']}/retry")
    assert again.status_code == 409 and again.json()["status"] == "ok"


async def test_retry_from_an_action_reruns_it_and_everything_downstream(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-replay")
    first, flaky = f"/flaky/{workflow_id}-first", f"/flaky/{workflow_id}-second"
    failed = await run_once(client, workflow_id, [
        http_action(f"{target.url}{first}?fail=0"),
        http_action(f"{target.url}{flaky}?fail={ATTEMPTS}"),
    ])
    assert failed["status"] == "failed"

    unknown = await client.post(f"/executions/{failed['id']}/retry", json={"from": "nope"})
    assert unknown.status_code == 400, unknown.text
    retried = await client.post(f"/executions/{failed['id']}/retry", json={"from": "action-1"})
    assert retried.status_code == 200, retried.text

    [done] = await wait_finished(client, workflow_id)
    assert done["status"] == "ok"
    assert (target.hits[first], target.hits[flaky]) == (2, ATTEMPTS + 1)
    assert [e["name"] for e in done["executed_actions"]][-2:] == ["action-1", "action-2"]


async def test_cancel_of_a_waiting_retry(
    waiting_client: httpx.AsyncClient, target: TargetServer
) -> None:
    client = waiting_client
    workflow_id = unique_id("e2e-cancel")
    await create_and_trigger(client, workflow_id, [http_action(f"{target.url}/status/500")])

    async def waiting() -> Json | None:
        found = await executions(client, workflow_id)
        return found[0] if found and found[0]["waiting"] else None

    pending = await eventually(waiting, timeout_s=15, what="a retry waiting on its backoff")
    assert pending["status"] == "pending" and pending["waiting"]["reason"] == "backoff"
    assert datetime.fromisoformat(pending["waiting"]["until"]) > datetime.fromisoformat(
        pending["created_at"]) + timedelta(seconds=30)

    cancelled = await client.post(f"/executions/{pending['id']}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["waiting"]) == ("cancelled", None)
    state = await workflow(client, workflow_id)
    assert (state["status"], state["trigger"]["status"]) == ("active", None)
    assert (await trigger(client, workflow_id)).status_code == 200, "the workflow is released"
    stored = (await client.get(f"/executions/{pending['id']}")).json()
    assert stored["status"] == "cancelled" and stored["finished_at"] is not None
    assert len(stored["executed_actions"]) == 1, "no attempt ran after the cancel"
    await client.delete(f"/workflows/{workflow_id}")


async def test_all_executions_with_filters(client: httpx.AsyncClient, target: TargetServer) -> None:
    ok_id, failed_id = unique_id("e2e-all-ok"), unique_id("e2e-all-failed")
    ok = await run_once(client, ok_id, [log_action("fine")])
    failed = await run_once(client, failed_id, [http_action(f"{target.url}/status/404")])

    newest = (await client.get("/executions", params={"limit": 50})).json()["items"]
    ids = [e["id"] for e in newest]
    assert ids.index(failed["id"]) < ids.index(ok["id"]), "newest first"
    mine = (await client.get("/executions", params={"workflow_id": ok_id})).json()["items"]
    assert [e["id"] for e in mine] == [ok["id"]]
    failures = (await client.get("/executions", params={"status": "failed"})).json()["items"]
    assert failed["id"] in [e["id"] for e in failures]
    assert all(e["status"] == "failed" for e in failures)
    none = await client.get("/executions", params={"workflow_id": ok_id, "status": "failed"})
    assert none.json() == {"items": [], "next_cursor": None}
    page = (await client.get("/executions", params={"limit": 1})).json()
    assert len(page["items"]) == 1 and page["next_cursor"] is not None


async def test_cancel_of_a_running_execution_ends_it_after_the_action_in_flight(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-cancel-running")
    await create_and_trigger(client, workflow_id, [
        http_action(f"{target.url}/slow?ms=1500"), log_action("never"),
    ])
    running = await only_execution(client, workflow_id)

    asked = await client.post(f"/executions/{running['id']}/cancel")

    assert asked.status_code == 202, asked.text
    assert (asked.json()["status"], asked.json()["cancel_requested"]) == ("pending", True)
    [done] = await wait_finished(client, workflow_id)
    assert (done["status"], done["reason"]) == ("cancelled", "cancelled by request")
    assert [e["name"] for e in done["executed_actions"]] == ["action-1"], "no new action"
    assert (await trigger(client, workflow_id)).status_code == 200, "the workflow is released"
