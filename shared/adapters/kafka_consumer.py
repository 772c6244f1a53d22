"""Kafka adapters (aiokafka), the runner's side: its group consumer and the dead-letter topic."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from shared.domain.codec import MAX_MESSAGE_BYTES
from shared.domain.errors import Unavailable
from shared.infra.logs import get_logger
from shared.ports import ConsumedMessage

log = get_logger(__name__)


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, on_revoked: Callable[[set[int]], Awaitable[None]]) -> None:
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._on_revoked({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


def make_consumer(
    bootstrap: str, group: str, *, session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int = 3_000, max_poll_interval_ms: int = 300_000,
    rebalance_timeout_ms: int = 45_000,
) -> AIOKafkaConsumer:
    """A group consumer with manual commits, reading from the start for new groups.

    A runner that stops heartbeating for `session_timeout_ms` (killed, partitioned) loses its
    partitions to the others; a rebalance waits `rebalance_timeout_ms` for every member to
    rejoin, which must cover the runner's drain of a revoked partition (30 s)."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=500, fetch_max_wait_ms=200,
        session_timeout_ms=session_timeout_ms, heartbeat_interval_ms=heartbeat_interval_ms,
        max_poll_interval_ms=max_poll_interval_ms, rebalance_timeout_ms=rebalance_timeout_ms,
        retry_backoff_ms=200,
    )


class KafkaMessageSource:
    """MessageSource over a subscribed AIOKafkaConsumer of one topic."""

    def __init__(self, consumer: AIOKafkaConsumer, topic: str) -> None:
        self._consumer = consumer
        self._topic = topic
        self._started = False

    async def start(self, on_revoked: Callable[[set[int]], Awaitable[None]]) -> None:
        """Join the group; `on_revoked` runs before partitions are taken away."""
        self._consumer.subscribe([self._topic], listener=_Revocations(on_revoked))
        await self._consumer.start()
        self._started = True

    async def stop(self) -> None:
        """Leave the group (if it was joined) and close the consumer."""
        if self._started:
            await self._consumer.stop()

    async def fetch(self, *, timeout_s: float, max_records: int) -> list[ConsumedMessage]:
        batches = await self._consumer.getmany(
            timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        return [
            ConsumedMessage(tp.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
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
