"""Foundation: a real Kafka broker with topics, keyed partitioning and consumer-group commits."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.polling import eventually

pytestmark = pytest.mark.integration

PARTITIONS = 3
KEYS = [f"workflow-{i}" for i in range(8)]
DEADLINE_S = 60.0


async def consume_until(
    consumer: AIOKafkaConsumer, expected: int, deadline_s: float = DEADLINE_S
) -> list[tuple[int, int, str, str]]:
    """Poll until ``expected`` records arrived or the deadline passed: (partition, offset, k, v)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    got: list[tuple[int, int, str, str]] = []
    while len(got) < expected and loop.time() < deadline:
        batches = await consumer.getmany(timeout_ms=500)
        for tp, records in batches.items():
            for r in records:
                assert r.key is not None and r.value is not None
                got.append((tp.partition, r.offset, r.key.decode(), r.value.decode()))
    return got


async def produce(producer: AIOKafkaProducer, topic: str, batch: str) -> dict[str, int]:
    """Send 3 messages per key; return key -> partition (asserting a key sticks to one)."""
    partition_of: dict[str, int] = {}
    for seq in range(3):
        for key in KEYS:
            md = await producer.send_and_wait(
                topic, key=key.encode(), value=f"{batch}:{key}:{seq}".encode()
            )
            assert partition_of.setdefault(key, md.partition) == md.partition, key
    return partition_of


async def test_topic_keyed_messages_and_group_resumes_after_committed_offset(
    kafka_url: str, unique_topic: str
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_url, request_timeout_ms=30_000)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(unique_topic, num_partitions=PARTITIONS, replication_factor=1)]
        )

        async def described_partitions() -> int:
            # Metadata reaches the broker's cache shortly after the controller creates it.
            described = await admin.describe_topics([unique_topic])
            return len(described[0]["partitions"]) if not described[0]["error_code"] else 0

        partitions = await eventually(described_partitions, timeout_s=30, what="topic metadata")
        assert partitions == PARTITIONS
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=kafka_url, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        parts_a = await produce(producer, unique_topic, "A")
        # keys spread over more than one partition, and stay on theirs across batches
        assert len(set(parts_a.values())) > 1, parts_a
        per_batch = len(KEYS) * 3

        group = f"g-{uuid.uuid4().hex[:8]}"

        def new_consumer() -> AIOKafkaConsumer:
            return AIOKafkaConsumer(
                unique_topic,
                bootstrap_servers=kafka_url,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=10_000,
                heartbeat_interval_ms=1_000,
            )

        # 1st consumer: reads batch A, commits; then reads batch B but does NOT commit.
        first = new_consumer()
        await first.start()
        try:
            got_a = await consume_until(first, per_batch)
            assert sorted(v for *_, v in got_a) == sorted(
                f"A:{k}:{s}" for k in KEYS for s in range(3)
            ), got_a
            await first.commit()
            committed = {
                p: await first.committed(TopicPartition(unique_topic, p)) for p in range(PARTITIONS)
            }
            end_of_a: dict[int, int] = defaultdict(int)
            for p, off, _, _ in got_a:
                end_of_a[p] = max(end_of_a[p], off + 1)
            assert {p: c or 0 for p, c in committed.items()} == {
                p: end_of_a.get(p, 0) for p in range(PARTITIONS)
            }

            parts_b = await produce(producer, unique_topic, "B")
            assert parts_b == parts_a, "a key moved to another partition"
            got_b_first = await consume_until(first, per_batch)
            assert len(got_b_first) == per_batch
        finally:
            await first.stop()  # no auto-commit: batch B stays uncommitted

        # 2nd consumer, same group: resumes after the committed offsets, so it receives
        # exactly batch B (the uncommitted records) and nothing of batch A.
        second = new_consumer()
        await second.start()
        try:
            got_b = await consume_until(second, per_batch)
        finally:
            await second.stop()
        values = [v for *_, v in got_b]
        assert not [v for v in values if v.startswith("A:")], f"redelivered committed: {values}"
        assert sorted(values) == sorted(f"B:{k}:{s}" for k in KEYS for s in range(3)), values
        # per-key order is preserved (one key -> one partition -> ordered offsets)
        by_key: dict[str, list[int]] = defaultdict(list)
        for _, _, k, v in sorted(got_b, key=lambda r: (r[0], r[1])):
            by_key[k].append(int(v.rsplit(":", 1)[1]))
        assert all(seqs == [0, 1, 2] for seqs in by_key.values()), by_key
        for p, off, _, _ in got_b:
            assert off >= end_of_a.get(p, 0)
    finally:
        await producer.stop()
