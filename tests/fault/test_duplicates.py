"""The same ExecutionRequest delivered 5 more times after each trigger: still one execution
per accepted trigger, and every duplicate is refused by the runner's claim."""

from __future__ import annotations

import json
import time

import pytest
from aiokafka import AIOKafkaProducer

from tests.fault.checks import check_manual, metric, runner_logs
from tests.fault.load import StartStack, TriggerLoad, api_client, create_workflows, new_ids
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
WORKFLOWS = 100
ROUNDS = 2
COPIES = 5


async def test_request_delivered_five_times_runs_once(
    start_stack: StartStack, target: TargetServer, kafka_url: str,
) -> None:
    started = time.monotonic()
    stack, db = await start_stack()
    topic = stack.base_env()["KAFKA_TOPIC"]
    ids = new_ids("dup", WORKFLOWS)
    action = {"type": "http-request", "url": f"{target.url}/slow?ms=100", "method": "GET"}
    producer = AIOKafkaProducer(bootstrap_servers=kafka_url, acks="all")
    await producer.start()

    async def duplicate(workflow_id: str) -> None:
        value = json.dumps({"workflow_id": workflow_id}).encode()
        for _ in range(COPIES):
            await producer.send_and_wait(topic, value, key=workflow_id.encode())

    try:
        async with api_client(stack) as client:
            await create_workflows(client, ids, [action])
            load = TriggerLoad(client, db, ids, on_accepted=duplicate)
            await load.run(ROUNDS)
            summary = await check_manual(db, client, load.ledger,
                                         runner_logs=runner_logs(stack))
            runner = stack.services["runner_svc"].url
            skipped = await metric(client, runner, "runner_skipped_requests_total")
            handler_errors = await metric(client, runner, "consumer_errors_total",
                                          reason="handler")
    finally:
        await producer.stop()

    assert summary.accepted == summary.executions == WORKFLOWS * ROUNDS
    assert skipped >= COPIES * summary.accepted
    assert handler_errors == 0
    print(f"\n[fault] each request delivered {COPIES + 1} times: "
          f"{COPIES * summary.accepted} duplicates produced, {skipped:.0f} refused by the "
          f"claim; {summary.line()}; {time.monotonic() - started:.0f}s")
