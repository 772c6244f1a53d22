"""Graphs (SPEC 9) and durable waits (SPEC 11) on real processes: parallel branches overlap in
time, a retry re-runs only what did not succeed, a delay holds no runner slot, a signal wakes
its execution with its payload, a signal timeout fails the action."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pymongo
import pytest
import pytest_asyncio

from tests.e2e.helpers import (
    Json,
    api_client,
    create_and_trigger,
    executions,
    unique_id,
    wait_finished,
    workflow,
)
from tests.e2e.stacks import StartStack
from tests.harness import Stack
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def one_slot_stack(start_stack: StartStack) -> Iterator[Stack]:
    """One execution at a time per runner: a parked execution must not hold that slot."""
    with start_stack(label="graphs", env={"RUNNER_CONCURRENCY": "1"}) as stack:
        yield stack


@pytest_asyncio.fixture
async def client(one_slot_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(one_slot_stack.api) as http:
        yield http


def record_of(stack: Stack, mongo_url: str, execution_id: str) -> dict[str, Any]:
    """The stored execution record (per-action runs with their timings)."""
    with pymongo.MongoClient(mongo_url, tz_aware=True) as mongo:
        doc = mongo[stack.database_name].executions.find_one({"id": execution_id})
    assert doc is not None
    return dict(doc)


async def record(stack: Stack, mongo_url: str, execution_id: str) -> dict[str, Any]:
    return await asyncio.to_thread(record_of, stack, mongo_url, execution_id)


def named(name: str, action: Json, depends_on: list[str] | None = None) -> Json:
    extra: Json = {"name": name}
    if depends_on is not None:
        extra["depends_on"] = depends_on
    return {**action, **extra}


def log(message: str) -> Json:
    return {"type": "log", "message": message}


def slow(target: TargetServer) -> Json:
    return {"type": "http-request", "url": f"{target.url}/slow?ms=1000", "method": "GET"}


def span(run: dict[str, Any]) -> tuple[datetime, datetime]:
    return run["started_at"], run["finished_at"]


async def parked_execution(client: httpx.AsyncClient, workflow_id: str) -> Json:
    """The one execution of the workflow, once its workflow waits on it."""

    async def probe() -> Json | None:
        state = await workflow(client, workflow_id)
        if state["trigger"]["status"] != "waiting":
            return None
        [execution] = await executions(client, workflow_id)
        return execution

    return await eventually(probe, timeout_s=20, what=f"{workflow_id} waiting")


async def test_a_diamond_runs_its_branches_in_parallel_and_joins_after_both(
    client: httpx.AsyncClient, one_slot_stack: Stack, mongo_url: str, target: TargetServer,
) -> None:
    workflow_id = unique_id("e2e-diamond")
    await create_and_trigger(client, workflow_id, [
        named("a", log("start"), []), named("b", slow(target), ["a"]),
        named("c", slow(target), ["a"]), named("d", log("joined"), ["b", "c"]),
    ])
    [done] = await wait_finished(client, workflow_id, timeout_s=30)
    assert done["status"] == "ok", done

    actions = (await record(one_slot_stack, mongo_url, done["id"]))["actions"]
    [a], [b], [c], [d] = (actions[k]["runs"] for k in "abcd")
    (b_start, b_end), (c_start, c_end) = span(b), span(c)
    assert b_start < c_end and c_start < b_end, "b and c must overlap in time"
    assert d["started_at"] >= max(b_end, c_end) and min(b_start, c_start) >= a["finished_at"]
    assert [r["status"] for r in (a, b, c, d)] == ["ok"] * 4


async def test_the_retry_of_a_graph_reruns_only_what_did_not_succeed(
    client: httpx.AsyncClient, one_slot_stack: Stack, mongo_url: str, target: TargetServer,
) -> None:
    workflow_id = unique_id("e2e-graph-retry")
    flaky = {"type": "http-request", "url": f"{target.url}/flaky/{workflow_id}?fail=1",
             "method": "GET"}
    await create_and_trigger(client, workflow_id, [
        named("a", log("start"), []), named("b", log("fine"), ["a"]),
        named("c", flaky, ["a"]), named("d", log("joined"), ["b", "c"]),
    ])
    [done] = await wait_finished(client, workflow_id, timeout_s=30)
    assert done["status"] == "ok" and done["retries"] == 3, done

    actions = (await record(one_slot_stack, mongo_url, done["id"]))["actions"]
    attempts = {k: [(r["attempt"], r["status"]) for r in actions[k]["runs"]] for k in "abcd"}
    assert attempts == {
        "a": [(1, "ok")], "b": [(1, "ok")], "c": [(1, "failed"), (2, "ok")], "d": [(2, "ok")],
    }


async def test_a_delay_holds_no_runner_slot(client: httpx.AsyncClient) -> None:
    delayed, other = unique_id("e2e-delay"), unique_id("e2e-meanwhile")
    await create_and_trigger(client, delayed, [
        log("before"), {"type": "delay", "duration": "2s"}, log("after"),
    ])
    await parked_execution(client, delayed)

    # One runner slot (RUNNER_CONCURRENCY=1): this one runs while the first still waits.
    await create_and_trigger(client, other, [log("meanwhile")])
    [meanwhile] = await wait_finished(client, other, timeout_s=20)
    assert meanwhile["status"] == "ok"
    assert (await workflow(client, delayed))["trigger"]["status"] == "waiting"
    refused = await client.post(f"/workflows/{delayed}/trigger")
    assert refused.status_code == 409 and refused.json()["status"] == "busy", refused.text

    [done] = await wait_finished(client, delayed, timeout_s=20)
    assert done["status"] == "ok"
    assert [a["action_id"] for a in done["executed_actions"]] == [1, 2, 3]


async def test_a_signal_wakes_its_execution_with_its_payload(
    client: httpx.AsyncClient, one_slot_stack: Stack, mongo_url: str, target: TargetServer,
) -> None:
    workflow_id = unique_id("e2e-signal")
    await create_and_trigger(client, workflow_id, [
        log("before"),
        {"type": "wait-for-signal", "name": "approval", "signal": "approved", "timeout": "1h"},
        {"type": "http-request", "method": "POST", "url": f"{target.url}/echo?wf={workflow_id}",
         "body": {"approved_by": "${actions.approval.signal.by}",
                  "first": "${actions.approval.signal.items[0]}",
                  "note": "by ${actions.approval.signal.by}"}},
    ])
    execution = await parked_execution(client, workflow_id)
    url = f"/executions/{execution['id']}/signals"

    wrong = await client.post(f"{url}/rejected", json={})
    assert wrong.status_code == 409, wrong.text
    unknown = await client.post("/executions/no-such-execution/signals/approved", json={})
    assert unknown.status_code == 404, unknown.text
    payload = {"by": "ann", "items": [1, 2]}
    sent = await client.post(f"{url}/approved", json=payload)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"status": "signal delivered", "action": "approval"}

    [done] = await wait_finished(client, workflow_id, timeout_s=20)
    assert done["status"] == "ok"
    [run] = (await record(one_slot_stack, mongo_url, done["id"]))["actions"]["approval"]["runs"]
    assert run["signal"] == payload and run["status"] == "ok"
    # The next action used the payload: whole-string references keep their JSON types.
    [got] = [r for r in target.received_at("/echo") if r.query.get("wf") == workflow_id]
    assert json.loads(got.body) == {"approved_by": "ann", "first": 1, "note": "by ann"}
    again = await client.post(f"{url}/approved", json=payload)
    assert again.status_code == 409, again.text


async def test_a_signal_timeout_fails_the_action(client: httpx.AsyncClient) -> None:
    workflow_id = unique_id("e2e-signal-timeout")
    await create_and_trigger(client, workflow_id, [
        {"type": "wait-for-signal", "signal": "never", "timeout": "1s"}, log("after"),
    ])
    [done] = await wait_finished(client, workflow_id, timeout_s=40)
    assert done["status"] == "failed"
    runs = done["executed_actions"]
    assert [r["action_id"] for r in runs] == [1] * 4
    assert all(r["status"] == "failed" and "timed out after 1s" in r["logs"] for r in runs)


async def test_cancel_of_a_parked_delay_is_at_once_and_releases_the_workflow(
    client: httpx.AsyncClient,
) -> None:
    workflow_id = unique_id("e2e-cancel-delay")
    await create_and_trigger(client, workflow_id, [
        log("before"), {"type": "delay", "duration": "1h"}, log("after"),
    ])
    execution = await parked_execution(client, workflow_id)
    assert execution["waiting"]["reason"] == "delay"

    answer = await client.post(f"/executions/{execution['id']}/cancel")

    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["waiting"]) == ("cancelled", None)
    assert (await workflow(client, workflow_id))["trigger"]["status"] is None
    again = await client.post(f"/workflows/{workflow_id}/trigger")
    assert again.status_code == 200, "released: it runs again"


async def test_a_signal_sent_while_paused_wakes_the_execution_after_resume(
    client: httpx.AsyncClient,
) -> None:
    workflow_id = unique_id("e2e-paused-signal")
    await create_and_trigger(client, workflow_id, [
        {"type": "wait-for-signal", "name": "go", "signal": "go", "timeout": "1h"}, log("after"),
    ])
    execution = await parked_execution(client, workflow_id)
    assert (await client.post(f"/workflows/{workflow_id}/pause")).status_code == 200
    sent = await client.post(f"/executions/{execution['id']}/signals/go", json={"n": 1})
    assert sent.status_code == 200, sent.text
    got = (await client.get(f"/executions/{execution['id']}")).json()
    assert got["status"] == "pending", "paused: delivered but not woken"

    assert (await client.post(f"/workflows/{workflow_id}/resume")).status_code == 200
    [done] = await wait_finished(client, workflow_id, timeout_s=20)
    assert done["status"] == "ok"
