"""The Kafka broker, then the database server, restarted mid-load (local mode only: this
test stops and starts the servers of ./start-deps.sh, and leaves them running).

During each outage every service's readiness reports it (503), the API answers 503
`{"error": ...}` quickly instead of hanging, and nothing crashes; afterwards the services
recover by themselves and nothing accepted is lost."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx
import pytest

from tests.conftest import Infra, run_start_deps
from tests.fault.checks import FINAL, check_manual, check_periodic, runner_logs
from tests.fault.load import (
    StartStack,
    TriggerLoad,
    api_client,
    create_ticking,
    create_workflows,
    more_accepted,
    new_ids,
    slow_action,
)
from tests.harness import Stack
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
MANUAL = 150
PERIODIC = 20
QUICK_S = 5.0  # an answer slower than this counts as hanging
TRIGGER_BOUND_S = 10.0  # a trigger waits up to KAFKA_SEND_TIMEOUT_S (5 s) for Kafka's ack


def _deps_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_URL")}


async def _deps(*args: str) -> float:
    began = time.monotonic()
    await asyncio.to_thread(run_start_deps, *args, env=_deps_env())
    return time.monotonic() - began


async def _all_ready(client: httpx.AsyncClient, stack: Stack, *, ok: bool, dep: str) -> float:
    """Poll every service's /ready until it reports `dep` up (ok) or down; the time taken."""
    began = time.monotonic()

    async def reports(url: str) -> bool:
        try:
            response = await client.get(f"{url}/ready", timeout=QUICK_S)
        except httpx.TransportError:
            return False
        body = response.json()
        return response.status_code == (200 if ok else 503) and body.get(dep) is ok

    for service in stack.services.values():
        await eventually(lambda s=service: reports(s.url), timeout_s=90, interval_s=0.2,
                         what=f"{service.module} /ready with {dep} {'up' if ok else 'down'}")
    return time.monotonic() - began


async def _timed(call: Any) -> tuple[httpx.Response, float]:
    """The answer and how long it took; no answer within the client's timeout fails."""
    began = time.monotonic()
    try:
        response = await call
    except httpx.TimeoutException as exc:
        raise AssertionError(f"no answer within the bound: {exc.request.url}") from exc
    return response, time.monotonic() - began


async def _admitted(client: httpx.AsyncClient, workflow_id: str) -> bool:
    """Trigger once: True if accepted, False if shed for the backlog the outage left
    (503 with Retry-After, nothing stored: a client retries); any other answer fails."""
    answer = await client.post(f"/workflows/{workflow_id}/trigger")
    if answer.status_code == 200:
        return True
    shed = answer.status_code == 503 and "Retry-After" in answer.headers
    assert shed, f"{answer.status_code} {answer.text}"
    return False


def _unavailable(response: httpx.Response) -> bool:
    return response.status_code == 503 and isinstance(response.json().get("error"), str)


async def test_kafka_then_database_restart_mid_load(
    infra: Infra, start_stack: StartStack, target: TargetServer,
) -> None:
    if (infra.kafka_source, infra.mongo_source) != ("start-deps", "start-deps"):
        pytest.fail(
            "the Kafka/DB restart test restarts the servers of ./start-deps.sh and needs both "
            f"in local mode; here Kafka comes from {infra.kafka_source} ({infra.kafka_url}) and "
            f"the DB from {infra.mongo_source} ({infra.mongo_url}): unset KAFKA_URL and "
            "DATABASE_URL (or point them at ./start-deps.sh's servers) to run it",
            pytrace=False,
        )
    started = time.monotonic()
    stack, db = await start_stack()
    manual, periodic = new_ids("outage", MANUAL), new_ids("tick", PERIODIC)
    probe_id = new_ids("probe", 1)[0]
    measured: dict[str, Any] = {}

    async with api_client(stack) as client, httpx.AsyncClient(
        base_url=stack.api, timeout=QUICK_S
    ) as quick:
        await create_workflows(client, manual + [probe_id], [slow_action(target.url, 200)])
        await create_ticking(client, periodic)
        load = TriggerLoad(client, db, manual, retry_for_s=120, idle_timeout_s=180)
        stop_load = asyncio.Event()
        running = asyncio.create_task(load.run_until(stop_load))
        try:
            await more_accepted(load, MANUAL, after="the start")

            measured["kafka down s"] = await _deps("down", "kafka")
            measured["ready 503 (kafka) after s"] = await _all_ready(
                client, stack, ok=False, dep="kafka")
            got, measured["GET during kafka outage s"] = await _timed(
                quick.get(f"/workflows/{probe_id}"))
            assert got.status_code == 200, got.text  # the database still answers
            refused, measured["trigger during kafka outage s"] = await _timed(
                quick.post(f"/workflows/{probe_id}/trigger", timeout=TRIGGER_BOUND_S))
            assert _unavailable(refused), refused.text
            measured["kafka up s"] = await _deps("up", "kafka")
            measured["ready 200 (kafka) after s"] = await _all_ready(
                client, stack, ok=True, dep="kafka")
            await more_accepted(load, MANUAL, after="the Kafka restart")

            measured["db down s"] = await _deps("down", "mongo")
            measured["ready 503 (db) after s"] = await _all_ready(
                client, stack, ok=False, dep="mongodb")
            body = {"workflowId": "during-outage", "trigger": {"type": "manual"},
                    "actions": [{"type": "log", "message": "x"}]}
            calls = {
                "POST /workflows": lambda: quick.post("/workflows", json=body),
                "GET /workflows/x": lambda: quick.get(f"/workflows/{probe_id}"),
                "GET /workflows/x/executions": lambda: quick.get(
                    f"/workflows/{probe_id}/executions"),
                "POST /workflows/x/trigger": lambda: quick.post(
                    f"/workflows/{probe_id}/trigger"),
            }
            for label, call in calls.items():
                answer, measured[f"{label} during db outage s"] = await _timed(call())
                assert _unavailable(answer), f"{label}: {answer.status_code} {answer.text}"
            for service in stack.services.values():
                health = await quick.get(f"{service.url}/health")
                assert health.status_code == 200, f"{service.module} is not alive"
            measured["db up s"] = await _deps("up", "mongo")
            measured["ready 200 (db) after s"] = await _all_ready(
                client, stack, ok=True, dep="mongodb")
        finally:
            await _deps("up", "kafka", "mongo")  # whatever happened, leave them running

        await eventually(lambda: _admitted(client, probe_id), timeout_s=60, interval_s=1.0,
                         what="a trigger after the restarts to be accepted")

        async def probe_done() -> bool:
            query = {"workflow_id": probe_id, "status": {"$in": list(FINAL)}}
            return await db.executions.count_documents(query) == 1

        await eventually(probe_done, timeout_s=60, what="a trigger after the restarts to finish")
        await more_accepted(load, MANUAL, after="the database restart")
        stop_load.set()
        await running
        assert await asyncio.to_thread(stack.services["scheduler_svc"].terminate, 30) == 0
        runs = await check_periodic(db, periodic, settle_timeout_s=90)
        summary = await check_manual(db, client, load.ledger, runner_logs=runner_logs(stack),
                                     settle_timeout_s=90)

    crashed = [s.module for s in stack.services.values()
               if s.module != "scheduler_svc" and s.proc and s.proc.poll() is not None]
    assert not crashed, f"exited during the outages: {crashed}"
    print(f"\n[fault] Kafka then DB restart: "
          f"{ {k: round(v, 2) for k, v in measured.items()} }; {runs} periodic runs; "
          f"{summary.line()}; {time.monotonic() - started:.0f}s")
