"""Kafka adapters against the live broker: publisher, message source and consumer loop."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError

from runner_svc.consumer import ConsumerLoop
from shared.adapters.kafka import KafkaPublisher, make_producer
from shared.adapters.kafka_consumer import KafkaMessageSource, make_consumer
from shared.domain.errors import Unavailable
from shared.domain.models import ExecutionRequest
from tests.integration.conftest import TOPIC_PARTITIONS
from tests.kafka_reading import read_records
from tests.polling import eventually

pytestmark = pytest.mark.integration
BOUND_S = 30.0  # generous upper bound on anything that must not hang


def request(key: str, seq: int) -> ExecutionRequest:
    return ExecutionRequest(workflow_id=key, execution_id=f"{key}-{seq}")


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of a topic made by the `topic` fixture."""
    return [TopicPartition(topic, p) for p in range(TOPIC_PARTITIONS)]


async def read_topic(kafka_url: str, topic: str, count: int) -> list[ConsumerRecord]:
    """Every record of the topic from the start, once `count` have arrived (no group)."""
    return await read_records(kafka_url, topic, count, partitions=TOPIC_PARTITIONS,
                              timeout_s=BOUND_S)


async def test_publisher_keys_by_workflow_id_and_keeps_per_key_order(
    kafka_url: str, topic: str, producer: AIOKafkaProducer
) -> None:
    publisher = KafkaPublisher(producer, topic, timeout_s=10)
    keys = [f"wf-{n}" for n in range(6)]
    for seq in range(5):
        for key in keys:
            await publisher.publish(request(key, seq))

    records = await read_topic(kafka_url, topic, 30)

    assert len(records) == 30
    partitions: dict[str, set[int]] = defaultdict(set)
    order: dict[str, list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        decoded = ExecutionRequest.model_validate_json(record.value)
        assert record.key == decoded.workflow_id.encode()
        partitions[decoded.workflow_id].add(record.partition)
        order[decoded.workflow_id].append(decoded.execution_id or "")
    assert all(len(p) == 1 for p in partitions.values()), partitions
    assert order == {key: [f"{key}-{seq}" for seq in range(5)] for key in keys}
    assert len(set().union(*partitions.values())) > 1  # the keys spread over partitions


async def test_publish_many_acknowledges_all(
    kafka_url: str, topic: str, producer: AIOKafkaProducer
) -> None:
    publisher = KafkaPublisher(producer, topic, timeout_s=10)
    requests = [request(f"wf-{n % 7}", n) for n in range(40)]

    acked = await publisher.publish_many(requests)

    assert acked == [True] * 40
    records = await read_topic(kafka_url, topic, 40)
    got = sorted(ExecutionRequest.model_validate_json(r.value).execution_id or "" for r in records)
    assert got == sorted(r.execution_id or "" for r in requests)


async def test_publisher_on_unreachable_broker_is_unavailable_within_a_bound() -> None:
    producer = make_producer("127.0.0.1:1", request_timeout_ms=1000)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    publisher = KafkaPublisher(producer, "any-topic", timeout_s=1.0)
    try:
        async with asyncio.timeout(BOUND_S):
            with pytest.raises(Unavailable):
                await publisher.publish(request("wf", 1))
            assert await publisher.publish_many([request("wf", 2), request("wf", 3)]) == [
                False, False,
            ]
    finally:
        await producer.stop()


async def test_publisher_to_a_missing_topic_is_unavailable_within_a_bound(
    producer: AIOKafkaProducer, unique_topic: str
) -> None:
    publisher = KafkaPublisher(producer, unique_topic, timeout_s=2.0)  # never created
    async with asyncio.timeout(BOUND_S):
        with pytest.raises(Unavailable):
            await publisher.publish(request("wf", 1))
        assert await publisher.publish_many([request("wf", 2)]) == [False]


# ------------------------------------------------------------------ the consumer loop


@asynccontextmanager
async def consuming(
    kafka_url: str, topic: str, group: str,
    handle: Callable[[ExecutionRequest], Awaitable[object]], *, drain_timeout_s: float = 30.0,
) -> AsyncIterator[AIOKafkaConsumer]:
    """A group consumer running ConsumerLoop until the block exits (stop, drain, commit)."""
    consumer = make_consumer(kafka_url, group)
    source = KafkaMessageSource(consumer, topic)
    loop = ConsumerLoop(source=source, handle=handle, concurrency=8,
                        fetch_timeout_s=0.2, drain_timeout_s=drain_timeout_s)
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
    partitions = await topic_partitions(consumer, topic)
    ends = await consumer.end_offsets(partitions)
    return all([(await consumer.committed(tp) or 0) == ends[tp] for tp in partitions])


async def records_after_restart(
    kafka_url: str, topic: str, group: str, producer: AIOKafkaProducer
) -> list[ExecutionRequest]:
    """What a new member of `group` receives before a freshly produced marker record."""
    received: list[ExecutionRequest] = []

    async def record(req: ExecutionRequest) -> None:
        received.append(req)

    marker = request("marker", 0)
    async with consuming(kafka_url, topic, group, record):
        await KafkaPublisher(producer, topic, timeout_s=10).publish(marker)
        await eventually(lambda: _truthy(marker in received), timeout_s=BOUND_S,
                         what="the marker")
    return [r for r in received if r != marker]


async def _truthy(value: bool) -> bool:
    return value


def new_group() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"


async def test_loop_handles_each_request_once_in_key_order_and_commits(
    kafka_url: str, topic: str, producer: AIOKafkaProducer
) -> None:
    publisher = KafkaPublisher(producer, topic, timeout_s=10)
    keys = [f"wf-{n}" for n in range(10)]
    sent = [request(key, seq) for seq in range(10) for key in keys]
    for req in sent:
        await publisher.publish(req)
    handled: list[ExecutionRequest] = []

    async def handle(req: ExecutionRequest) -> None:
        await asyncio.sleep(0)  # let other keys interleave
        handled.append(req)

    group = new_group()
    async with consuming(kafka_url, topic, group, handle) as consumer:
        await eventually(lambda: _truthy(len(handled) >= 100), timeout_s=BOUND_S,
                         what="100 handled requests")
        await eventually(lambda: committed_everything(consumer, topic), timeout_s=BOUND_S,
                         what="offsets committed")

    counts = Counter(r.execution_id for r in handled)
    assert set(counts) == {r.execution_id for r in sent}
    assert set(counts.values()) == {1}
    for key in keys:
        assert [r.execution_id for r in handled if r.workflow_id == key] == [
            f"{key}-{seq}" for seq in range(10)
        ]
    assert await records_after_restart(kafka_url, topic, group, producer) == []


async def test_loop_skips_poison_messages_and_carries_on(
    kafka_url: str, topic: str, producer: AIOKafkaProducer
) -> None:
    raw = AIOKafkaProducer(bootstrap_servers=kafka_url, max_request_size=2 * 1024 * 1024)
    await raw.start()
    try:
        for value in [b"not json", b'{"x":1}', b"[1, 2]", b"x" * 1_000_000]:
            await raw.send_and_wait(topic, value, key=b"poison")
        await raw.send_and_wait(topic, None, key=b"poison")
    finally:
        await raw.stop()
    good = request("poison", 1)
    await KafkaPublisher(producer, topic, timeout_s=10).publish(good)
    handled: list[ExecutionRequest] = []

    async def handle(req: ExecutionRequest) -> None:
        handled.append(req)

    group = new_group()
    async with consuming(kafka_url, topic, group, handle) as consumer:
        await eventually(lambda: _truthy(good in handled), timeout_s=BOUND_S,
                         what="the valid request after the poison")
        await eventually(lambda: committed_everything(consumer, topic), timeout_s=BOUND_S,
                         what="offsets committed past the poison")

    assert handled == [good]
    assert await records_after_restart(kafka_url, topic, group, producer) == []


async def test_unfinished_requests_are_redelivered_after_a_restart(
    kafka_url: str, topic: str, producer: AIOKafkaProducer
) -> None:
    publisher = KafkaPublisher(producer, topic, timeout_s=10)
    for key in ["a", "b"]:
        for seq in range(5):
            await publisher.publish(request(key, seq))
    handled: list[str] = []
    never = asyncio.Event()

    async def handle(req: ExecutionRequest) -> None:
        handled.append(req.execution_id or "")
        if req.execution_id == "a-2":
            await never.wait()  # a runner that dies in the middle of a-2

    group = new_group()
    async with consuming(kafka_url, topic, group, handle, drain_timeout_s=0.2):
        await eventually(lambda: _truthy(len(handled) >= 8), timeout_s=BOUND_S,
                         what="all but the requests queued behind a-2")
    assert sorted(handled) == ["a-0", "a-1", "a-2", "b-0", "b-1", "b-2", "b-3", "b-4"]

    again = [r.execution_id for r in await records_after_restart(kafka_url, topic, group,
                                                                 producer)]

    redelivered_a = [e for e in again if e and e.startswith("a-")]
    assert redelivered_a == ["a-2", "a-3", "a-4"]
