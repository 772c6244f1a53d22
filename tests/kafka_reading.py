"""Reading a topic back in tests: every record from the start, once enough have arrived."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from tests.polling import eventually


async def read_records(
    kafka_url: str, topic: str, count: int, *, partitions: int = 1, timeout_s: float = 30.0,
    what: str = "records", **consumer_options: Any,
) -> list[ConsumerRecord]:
    """The topic's records from offset 0 of each partition (no group), at least `count`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_url, enable_auto_commit=False,
                                **consumer_options)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        await consumer.seek_to_beginning()
        records: list[ConsumerRecord] = []

        async def enough() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            records.extend(r for batch in batches.values() for r in batch)
            return len(records) >= count

        await eventually(enough, timeout_s=timeout_s, what=f"{count} {what}")
        return records
    finally:
        await consumer.stop()
