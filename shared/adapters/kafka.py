"""Kafka adapters (aiokafka): the request publisher, the runner's source, topic setup."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAlreadyExistsError,
)

from shared.codec import MAX_MESSAGE_BYTES, encode_request
from shared.errors import Unavailable
from shared.models import ExecutionRequest
from shared.ports import ConsumedMessage


def make_producer(bootstrap: str, *, request_timeout_ms: int = 5000) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas.

    Not idempotent: aiokafka's idempotent producer can stay broken after a broker restart
    (every send fails with OutOfOrderSequenceNumber until the process restarts; aio-libs/
    aiokafka#1017). A retried send may duplicate a request on the topic, which the runner's
    claim makes harmless.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
        request_timeout_ms=request_timeout_ms, linger_ms=0,
        retry_backoff_ms=100, metadata_max_age_ms=30_000,
    )


async def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create the topic if it does not exist (auto-creation is off on our brokers)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic in set(await admin.list_topics()):
            return
        try:
            await admin.create_topics(
                [NewTopic(name=topic, num_partitions=partitions, replication_factor=1)]
            )
        except TopicAlreadyExistsError:
            pass
    finally:
        await admin.close()


class KafkaPublisher:
    """ExecutionRequestPublisher: produce and await the broker's ack, bounded in time."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, *, timeout_s: float) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s

    async def publish(self, request: ExecutionRequest) -> None:
        key, value = encode_request(request)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._producer.send_and_wait(self._topic, value, key=key)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(f"Kafka did not acknowledge the request: {exc!r}") from exc

    async def publish_many(self, requests: Sequence[ExecutionRequest]) -> list[bool]:
        async def one(request: ExecutionRequest) -> bool:
            try:
                await self.publish(request)
                return True
            except Unavailable:
                return False

        return list(await asyncio.gather(*(one(r) for r in requests)))


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, on_revoked: Callable[[set[int]], Awaitable[None]]) -> None:
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._on_revoked({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


def make_consumer(bootstrap: str, group: str) -> AIOKafkaConsumer:
    """A group consumer with manual commits, reading from the start for new groups."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=500, fetch_max_wait_ms=200,
        session_timeout_ms=10_000, heartbeat_interval_ms=3_000,
        max_poll_interval_ms=300_000, retry_backoff_ms=200,
    )


class KafkaMessageSource:
    """MessageSource over a subscribed AIOKafkaConsumer of one topic."""

    def __init__(self, consumer: AIOKafkaConsumer, topic: str) -> None:
        self._consumer = consumer
        self._topic = topic

    def subscribe(self, on_revoked: Callable[[set[int]], Awaitable[None]]) -> None:
        self._consumer.subscribe([self._topic], listener=_Revocations(on_revoked))

    async def fetch(self, *, timeout_s: float, max_records: int) -> list[ConsumedMessage]:
        batches = await self._consumer.getmany(
            timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        return [
            ConsumedMessage(tp.partition, r.offset, r.key, r.value)
            for tp, records in batches.items() for r in records
        ]

    async def commit(self, offsets: dict[int, int]) -> None:
        assigned = {tp.partition for tp in self._consumer.assignment()}
        wanted = {
            TopicPartition(self._topic, p): o for p, o in offsets.items() if p in assigned
        }
        if wanted:
            await self._consumer.commit(wanted)


class KafkaDeadLetters:
    """DeadLetterSink: the record's key and value, unchanged, on the dead-letter topic.

    Headers say why and where from: `dlq.reason`, `dlq.detail`, `dlq.source` (`topic:
    partition:offset`). A value the broker refuses as too large (the headers added to a
    record at the size limit) is stored cut to MAX_MESSAGE_BYTES, `dlq.truncated_from`
    giving its length.
    """

    def __init__(
        self, producer: AIOKafkaProducer, topic: str, *, source_topic: str, timeout_s: float
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._source_topic = source_topic
        self._timeout_s = timeout_s

    async def send(self, message: ConsumedMessage, reason: str, detail: str) -> None:
        source = f"{self._source_topic}:{message.partition}:{message.offset}"
        headers = [("dlq.reason", reason.encode()), ("dlq.detail", detail.encode()),
                   ("dlq.source", source.encode())]
        value = message.value
        try:
            try:
                await self._produce(message.key, value, headers)
            except (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError):
                cut = (value or b"")[:MAX_MESSAGE_BYTES]
                size = str(len(value or b"")).encode()
                await self._produce(message.key, cut, [*headers, ("dlq.truncated_from", size)])
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(f"dead-letter topic {self._topic}: {exc!r}") from exc

    async def _produce(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        async with asyncio.timeout(self._timeout_s):
            await self._producer.send_and_wait(self._topic, value, key=key, headers=headers)
