"""Poison messages on the execution topic (not JSON, no workflow_id, an unknown workflow id,
a 1 MB value, 60,000-deep nesting, a 5,000-digit number) mixed into a load of triggers: each
is counted, dead-lettered and skipped, the runner goes on."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.fault.checks import check_manual, metric, runner_logs
from tests.fault.load import StartStack, TriggerLoad, api_client, create_workflows, new_ids
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
WORKFLOWS = 100
EACH = 10
ONE_MB = 1_000_000
POISON = {
    "not_json": b"{this is not json",
    "no_workflow_id": json.dumps({"workflowId": "camel-case", "x": 1}).encode(),
    "too_large": json.dumps({"workflow_id": "padded", "pad": "x" * ONE_MB}).encode(),
    "too_deep": b"[" * 60_000,
    "number_too_long": b'{"workflow_id": "n", "n": ' + b"1" * 5_000 + b"}",
}


async def test_poison_messages_are_counted_and_skipped(
    start_stack: StartStack, target: TargetServer, kafka_url: str,
) -> None:
    started = time.monotonic()
    stack, db = await start_stack()
    topic = stack.base_env()["KAFKA_TOPIC"]
    runner = stack.services["runner_svc"]
    runner_pid = runner.proc.pid if runner.proc else None
    ids = new_ids("poison", WORKFLOWS)
    unknown = json.dumps({"workflow_id": "no-such-workflow"}).encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_url, max_request_size=2 * ONE_MB)
    await producer.start()

    async def produce_poison() -> None:
        for i in range(EACH):
            for value in (*POISON.values(), unknown):
                await producer.send_and_wait(topic, value, key=f"poison-{i}".encode())

    try:
        async with api_client(stack) as client:
            await create_workflows(client, ids, [{"type": "log", "message": "fine"}])
            before = {r: await metric(client, runner.url, "consumer_errors_total", reason=r)
                      for r in POISON}
            skipped_before = await metric(client, runner.url, "runner_skipped_requests_total")
            load = TriggerLoad(client, db, ids)
            await asyncio.gather(load.round(), produce_poison())

            async def all_counted() -> dict[str, float] | None:
                now = {r: await metric(client, runner.url, "consumer_errors_total", reason=r)
                       for r in POISON}
                grew = {r: now[r] - before[r] for r in POISON}
                return grew if all(n >= EACH for n in grew.values()) else None

            counted = await eventually(all_counted, timeout_s=30, interval_s=0.2,
                                       what=f"{EACH} of each poison counted")
            async def unknown_skipped() -> float | None:
                # Each key's unknown-workflow record comes after its poison ones: it may still
                # be in flight when the poison counts are complete.
                now = await metric(client, runner.url, "runner_skipped_requests_total")
                return now if now - skipped_before >= EACH else None

            skipped = await eventually(unknown_skipped, timeout_s=30, interval_s=0.2,
                                       what=f"{EACH} unknown workflow ids skipped") or 0.0
            await load.run(2)  # valid triggers after the poison still complete
            summary = await check_manual(db, client, load.ledger,
                                         runner_logs=runner_logs(stack))
            handler_errors = await metric(client, runner.url, "consumer_errors_total",
                                          reason="handler")
    finally:
        await producer.stop()

    events = map(_json_or_none, runner.log_path.read_text(errors="replace").splitlines())
    logged = Counter(
        e.get("reason") for e in events if e and e.get("event") == "poison message skipped"
    )
    assert all(logged[r] >= EACH for r in POISON), f"poison not logged per reason: {logged}"
    dead = await dead_letters(kafka_url, f"{topic}.dlq", EACH * len(POISON))
    assert all(dead[r] == EACH for r in POISON), f"dead letters by reason: {dead}"
    assert runner.proc is not None and runner.proc.poll() is None, "the runner died"
    assert runner.proc.pid == runner_pid
    assert skipped - skipped_before >= EACH, "unknown workflow ids were not counted as skipped"
    assert handler_errors == 0
    assert summary.accepted == summary.executions == WORKFLOWS * 3
    assert summary.ok == summary.executions
    print(f"\n[fault] poison x{EACH} each: counted {counted}, unknown-id skips "
          f"{skipped - skipped_before:.0f}; runner alive; {summary.line()}; "
          f"{time.monotonic() - started:.0f}s")


async def dead_letters(kafka_url: str, topic: str, expected: int) -> Counter[str]:
    """The runner's dead-letter topic (its default name), counted by `dlq.reason`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_url, enable_auto_commit=False,
                                fetch_max_bytes=8 * ONE_MB)
    await consumer.start()
    reasons: Counter[str] = Counter()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning()

        async def enough() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                reasons.update(dict(r.headers)["dlq.reason"].decode() for r in batch)
            return sum(reasons.values()) >= expected

        await eventually(enough, timeout_s=30, interval_s=0.1, what="the dead letters")
    finally:
        await consumer.stop()
    return reasons


def _json_or_none(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
