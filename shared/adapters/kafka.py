"""Kafka adapters (aiokafka): the request publisher, the runner's source, topic setup."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAlreadyExistsError,
)
from opentelemetry.trace import SpanKind

from shared.domain.codec import MAX_MESSAGE_BYTES, encode_request
from shared.domain.errors import Unavailable
from shared.domain.models import ExecutionRequest
from shared.infra.logs import get_logger
from shared.infra.tracing import trace_headers, tracer
from shared.ports import ConsumedMessage

log = get_logger(__name__)
IDEMPOTENT_REQUEST_TIMEOUT_MS = 120_000


def make_producer(
    bootstrap: str, *, request_timeout_ms: int = 5000, idempotent: bool = False
) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas (acks=all).

    Not idempotent by default: a retried send may duplicate a request on the topic, which
    the runner's claim makes harmless. aiokafka 0.14's idempotent producer gives up a batch
    whose partition has had no leader for `request_timeout_ms` *after* numbering it, and the
    gap in the sequence makes every later send to that partition fail with
    OutOfOrderSequenceNumber until the producer is replaced (aio-libs/aiokafka#1017; a
    single broker's restart does it, a cluster's leader failover does not). So an
    idempotent producer gets a request timeout far above any leaderless period, and
    `ProducerHandle` replaces one that wedged anyway (README "Running on a cluster").
    """
    if idempotent:
        request_timeout_ms = max(request_timeout_ms, IDEMPOTENT_REQUEST_TIMEOUT_MS)
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=idempotent,
        request_timeout_ms=request_timeout_ms, linger_ms=0,
        retry_backoff_ms=100, metadata_max_age_ms=30_000,
    )


class RecordSender(Protocol):
    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any: ...


class ProducerHandle:
    """A started producer that replaces itself once it is wedged.

    OutOfOrderSequenceNumber is the only error after which aiokafka's producer never
    recovers (see `make_producer`); the send that met it fails (503 / re-dispatch, as for
    any unacknowledged send) and later sends go through a fresh producer (a new producer
    id, sequences from 0)."""

    def __init__(self, factory: Callable[[], AIOKafkaProducer]) -> None:
        self._factory = factory
        self._producer: AIOKafkaProducer | None = None
        self._retired: set[asyncio.Task[None]] = set()
        self.replacements = 0

    async def start(self) -> None:
        self._producer = await _started(self._factory)

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        producer = self._producer
        if producer is None:
            raise KafkaError("producer not started")
        try:
            return await producer.send_and_wait(topic, value, key=key, headers=headers)
        except OutOfOrderSequenceNumber:
            await self._replace(producer)
            raise

    async def _replace(self, wedged: AIOKafkaProducer) -> None:
        if self._producer is not wedged:
            return  # another send replaced it already
        fresh = await _started(self._factory)
        if self._producer is not wedged:  # replaced while this one started
            await fresh.stop()
            return
        self._producer = fresh
        self.replacements += 1
        log.warning("kafka producer wedged (OutOfOrderSequenceNumber); replaced it",
                    replacements=self.replacements)
        task = asyncio.create_task(_stop_quietly(wedged))
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        if self._retired:
            await asyncio.wait(self._retired, timeout=10)


async def _started(factory: Callable[[], AIOKafkaProducer]) -> AIOKafkaProducer:
    producer = factory()
    try:
        await producer.start()
    except BaseException:
        await producer.stop()  # closes what the failed start opened
        raise
    return producer


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout=10)
    except Exception as exc:  # its pending sends have failed already
        log.info("wedged producer stopped with an error", error=repr(exc))


async def ensure_topic(
    bootstrap: str, topic: str, partitions: int, *, replication_factor: int = 1,
    min_insync_replicas: int | None = None,
) -> None:
    """Create the topic if it does not exist (auto-creation is off on our brokers), with
    `replication_factor` replicas and, if given, its `min.insync.replicas`.

    An existing topic is left as it is; one with fewer replicas than wanted is logged."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic in set(await admin.list_topics()):
            await _warn_if_under_replicated(admin, topic, replication_factor)
            return
        configs = {} if min_insync_replicas is None else {
            "min.insync.replicas": str(min_insync_replicas)}
        try:
            await admin.create_topics([NewTopic(
                name=topic, num_partitions=partitions, replication_factor=replication_factor,
                topic_configs=configs,
            )])
        except TopicAlreadyExistsError:
            pass
    finally:
        await admin.close()


async def _warn_if_under_replicated(
    admin: AIOKafkaAdminClient, topic: str, replication_factor: int
) -> None:
    if replication_factor <= 1:
        return
    for described in await admin.describe_topics([topic]):
        replicas = {len(p["replicas"]) for p in described.get("partitions", [])}
        if replicas and min(replicas) < replication_factor:
            log.warning("topic has fewer replicas than KAFKA_REPLICATION_FACTOR; it was "
                        "created before: reassign its partitions or recreate it", topic=topic,
                        replicas=min(replicas), wanted=replication_factor)


class KafkaPublisher:
    """ExecutionRequestPublisher: produce and await the broker's ack, bounded in time."""

    def __init__(self, producer: RecordSender, topic: str, *, timeout_s: float) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s

    async def publish(self, request: ExecutionRequest) -> None:
        key, value = encode_request(request)
        # A producer span: the API's request span is its parent; a scheduled run's trace
        # starts here. Its context travels in the record's headers to the runner.
        with tracer().start_as_current_span(
            f"publish {self._topic}", kind=SpanKind.PRODUCER,
            attributes={"workflow.id": request.workflow_id},
        ):
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._producer.send_and_wait(
                        self._topic, value, key=key, headers=trace_headers() or None
                    )
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
