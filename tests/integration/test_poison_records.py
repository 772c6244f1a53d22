"""Poison records on the real broker (issue 13, #8): every decode failure is counted by
reason, dead-lettered unchanged with its reason, and the offset moves past it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from prometheus_client import REGISTRY

from runner_svc.consumer import ConsumerLoop
from runner_svc.poison import PoisonHandler
from shared.adapters.kafka import KafkaPublisher, ensure_topic
from shared.adapters.kafka_consumer import KafkaDeadLetters, KafkaMessageSource, make_consumer
from shared.domain.codec import MAX_MESSAGE_BYTES
from shared.domain.models import ExecutionRequest
from tests.integration.conftest import TOPIC_PARTITIONS
from tests.kafka_reading import read_records
from tests.polling import eventually

pytestmark = pytest.mark.integration
BOUND_S = 30.0
KEY = b"poison"
POISON = [
    (b"[" * 60_000, "too_deep"),
    (b"1" * 5_000, "number_too_long"),
    (b'{"workflow_id": "wf", "n": ' + b"7" * 5_000 + b"}", "number_too_long"),
    (b"{not json", "not_json"),
    (b"x" * 1_000_000, "too_large"),
    (None, "empty"),
]


def errors(reason: str) -> float:
    return REGISTRY.get_sample_value("consumer_errors_total", {"reason": reason}) or 0.0


async def produce_raw(kafka_url: str, topic: str, values: list[bytes | None]) -> None:
    raw = AIOKafkaProducer(bootstrap_servers=kafka_url, max_request_size=2 * 1024 * 1024)
    await raw.start()
    try:
        for value in values:
            await raw.send_and_wait(topic, value, key=KEY)
    finally:
        await raw.stop()


async def read_all(kafka_url: str, topic: str, count: int) -> list[ConsumerRecord]:
    return await read_records(kafka_url, topic, count, timeout_s=BOUND_S, what="dead letters",
                              fetch_max_bytes=8 * 1024 * 1024)


@asynccontextmanager
async def consuming(
    kafka_url: str, topic: str, on_poison: PoisonHandler | None,
    handled: list[ExecutionRequest],
) -> AsyncIterator[AIOKafkaConsumer]:
    async def handle(request: ExecutionRequest) -> None:
        handled.append(request)

    consumer = make_consumer(kafka_url, f"g-{topic}")
    source = KafkaMessageSource(consumer, topic)
    # None: as the runner with the dead-letter topic off (ConsumerLoop's default)
    extra: dict[str, Any] = {"on_poison": on_poison} if on_poison else {}
    loop = ConsumerLoop(source=source, handle=handle, concurrency=8, fetch_timeout_s=0.2,
                        **extra)
    await source.start(loop.drain)
    task = asyncio.create_task(loop.run())
    try:
        yield consumer
    finally:
        loop.stop()
        async with asyncio.timeout(BOUND_S):
            await task
        await source.stop()


async def committed_everything(consumer: AIOKafkaConsumer, topic: str) -> bool:
    partitions = [TopicPartition(topic, p) for p in range(TOPIC_PARTITIONS)]
    ends = await consumer.end_offsets(partitions)
    return all([(await consumer.committed(tp) or 0) == ends[tp] for tp in partitions])


def headers(record: ConsumerRecord) -> dict[str, bytes]:
    return dict(record.headers)


async def test_poison_records_are_counted_dead_lettered_and_committed(
    kafka_url: str, topic: str, producer: AIOKafkaProducer, make_topic_name: Any,
) -> None:
    dlq = make_topic_name("dlq")
    await ensure_topic(kafka_url, dlq, 1)
    await produce_raw(kafka_url, topic, [value for value, _ in POISON])
    good = ExecutionRequest(workflow_id="poison", execution_id="after")
    await KafkaPublisher(producer, topic, timeout_s=10).publish(good)
    reasons = {reason for _, reason in POISON}
    before = {reason: errors(reason) for reason in reasons}
    sink = KafkaDeadLetters(producer, dlq, source_topic=topic, timeout_s=10)
    reported: list[dict[str, Any]] = []
    event_loop = asyncio.get_running_loop()
    previous = event_loop.get_exception_handler()
    event_loop.set_exception_handler(lambda _, context: reported.append(context))
    handled: list[ExecutionRequest] = []
    try:
        async with consuming(kafka_url, topic, PoisonHandler(sink, topic=dlq), handled) as c:
            await eventually(lambda: _true(good in handled), timeout_s=BOUND_S,
                             what="the valid request after the poison")
            await eventually(lambda: committed_everything(c, topic), timeout_s=BOUND_S,
                             what="offsets committed past the poison")
    finally:
        event_loop.set_exception_handler(previous)

    assert handled == [good]
    assert reported == []
    grew = {reason: errors(reason) - before[reason] for reason in reasons}
    assert grew == {r: sum(1 for _, x in POISON if x == r) for r in reasons}
    letters = await read_all(kafka_url, dlq, len(POISON))
    assert [(r.key, r.value) for r in letters] == [(KEY, value) for value, _ in POISON]
    assert [headers(r)["dlq.reason"].decode() for r in letters] == [r for _, r in POISON]
    for record in letters:
        source = headers(record)["dlq.source"].decode()
        assert source.startswith(f"{topic}:")
        assert "dlq.truncated_from" not in headers(record)


async def test_without_a_dead_letter_topic_poison_is_counted_by_reason_and_skipped(
    kafka_url: str, topic: str, producer: AIOKafkaProducer,
) -> None:
    await produce_raw(kafka_url, topic, [value for value, _ in POISON])
    good = ExecutionRequest(workflow_id="poison", execution_id="after")
    await KafkaPublisher(producer, topic, timeout_s=10).publish(good)
    reasons = {reason for _, reason in POISON}
    before = {reason: errors(reason) for reason in reasons}
    handled: list[ExecutionRequest] = []
    async with consuming(kafka_url, topic, None, handled) as consumer:
        await eventually(lambda: committed_everything(consumer, topic), timeout_s=BOUND_S,
                         what="offsets committed past the poison")
        await eventually(lambda: _true(good in handled), timeout_s=BOUND_S, what="the request")

    grew = {reason: errors(reason) - before[reason] for reason in reasons}
    assert grew == {r: sum(1 for _, x in POISON if x == r) for r in reasons}
    assert handled == [good]


async def test_a_record_too_large_for_the_dead_letter_topic_is_stored_cut(
    kafka_url: str, topic: str, producer: AIOKafkaProducer, make_topic_name: Any,
) -> None:
    """At the size limit, the headers the dead letter adds make it too large: it is cut."""
    dlq = make_topic_name("dlq")
    await ensure_topic(kafka_url, dlq, 1)
    huge = b"y" * 1_048_400  # fits the broker's 1 MiB limit, not with ~100 bytes of headers
    await produce_raw(kafka_url, topic, [huge])
    sink = KafkaDeadLetters(producer, dlq, source_topic=topic, timeout_s=10)
    handled: list[ExecutionRequest] = []
    async with consuming(kafka_url, topic, PoisonHandler(sink, topic=dlq), handled) as c:
        await eventually(lambda: committed_everything(c, topic), timeout_s=BOUND_S,
                         what="the huge record committed")

    [letter] = await read_all(kafka_url, dlq, 1)
    assert letter.value == huge[:MAX_MESSAGE_BYTES]
    assert headers(letter)["dlq.truncated_from"] == str(len(huge)).encode()
    assert headers(letter)["dlq.reason"] == b"too_large"


async def _true(value: bool) -> bool:
    return value
