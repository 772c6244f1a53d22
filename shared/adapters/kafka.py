"""Kafka adapters (aiokafka), the producing side: the request publisher, topic setup."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaError,
    OutOfOrderSequenceNumber,
    TopicAlreadyExistsError,
)
from opentelemetry.trace import SpanKind

from shared.domain.codec import encode_request
from shared.domain.errors import Unavailable
from shared.domain.models import ExecutionRequest
from shared.infra.logs import get_logger
from shared.infra.tracing import span, trace_headers

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


class QueueingRecordSender(RecordSender, Protocol):
    async def send(
        self, topic: str, value: bytes, *, key: bytes,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        """Queue a record; the future it returns is settled by the broker's ack."""
        ...


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
        self._replacing: asyncio.Task[None] | None = None
        self.replacements = 0

    async def start(self) -> None:
        self._producer = await _started(self._factory)

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        """Queue a record; the future is its ack. A wedge it meets replaces the producer."""
        producer = self._live()
        delivery = await producer.send(topic, value, key=key, headers=headers)
        delivery.add_done_callback(lambda settled: self._check_wedged(producer, settled))
        return delivery

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        delivery = await self.send(topic, value, key=key, headers=headers)
        try:
            return await delivery
        except OutOfOrderSequenceNumber:
            # `send`'s callback, run before this wakes, started the replacement: a later
            # send goes through the fresh producer once this one has failed.
            if self._replacing is not None:
                await asyncio.shield(self._replacing)
            raise

    def _live(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise KafkaError("producer not started")
        return self._producer

    def _check_wedged(self, producer: AIOKafkaProducer, delivery: asyncio.Future[Any]) -> None:
        if not delivery.cancelled() and isinstance(
                delivery.exception(), OutOfOrderSequenceNumber):
            self._replace_soon(producer)

    def _replace_soon(self, wedged: AIOKafkaProducer) -> asyncio.Task[None]:
        """The replacement of `wedged`: one task, shared by every send that met the wedge."""
        if self._replacing is None or self._replacing.done():
            self._replacing = asyncio.create_task(self._replace(wedged))
            self._replacing.add_done_callback(_log_failed_replacement)
        return self._replacing

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
        if self._replacing is not None:
            await asyncio.wait([self._replacing], timeout=10)
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


def _log_failed_replacement(replacing: asyncio.Task[None]) -> None:
    # The sends that met the wedge have failed already; the next one that meets it retries.
    if not replacing.cancelled() and replacing.exception() is not None:
        log.warning("a wedged kafka producer could not be replaced yet",
                    error=repr(replacing.exception()))


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

    def __init__(self, producer: QueueingRecordSender, topic: str, *, timeout_s: float) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s
        self._span_name = f"publish {topic}"

    async def publish(self, request: ExecutionRequest) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                key, value = encode_request(request)
                with self._span(request):
                    await self._producer.send_and_wait(
                        self._topic, value, key=key, headers=trace_headers() or None)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(f"Kafka did not acknowledge the request: {exc!r}") from exc

    async def publish_many(self, requests: Sequence[ExecutionRequest]) -> list[bool]:
        """Queue every record, then await their acks, all under one deadline; a record not
        acknowledged in time (or not queued: the broker unreachable) is False."""
        # Records queued one after the other with their acks awaited together, not a task
        # per record: half the CPU per record (a page of 500 due workflows; README).
        deliveries: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(self._timeout_s):
                for request in requests:
                    deliveries.append(await self._queue(request))
                if deliveries:
                    await asyncio.wait(deliveries)
        except (KafkaError, TimeoutError) as exc:  # not all queued, or acks late
            if len(deliveries) < len(requests):  # the caller counts the unacknowledged
                log.warning("kafka did not take a batch's records", queued=len(deliveries),
                            of=len(requests), error=repr(exc))
        finally:  # late, or this publish cancelled: a late ack is no longer awaited
            for delivery in deliveries:
                delivery.cancel()
        acked = [_acknowledged(delivery) for delivery in deliveries]
        return acked + [False] * (len(requests) - len(acked))

    async def _queue(self, request: ExecutionRequest) -> asyncio.Future[Any]:
        key, value = encode_request(request)
        # The span covers handing the record over; its context travels in the headers.
        with self._span(request):
            return await self._producer.send(
                self._topic, value, key=key, headers=trace_headers() or None)

    def _span(self, request: ExecutionRequest) -> AbstractContextManager[Any]:
        # A producer span: the API's request span is its parent; a scheduled run's trace
        # starts here. Its context travels in the record's headers to the runner.
        return span(self._span_name, kind=SpanKind.PRODUCER,
                    attributes={"workflow.id": request.workflow_id})


def _acknowledged(delivery: asyncio.Future[Any]) -> bool:
    """Whether a record of `publish_many` was acknowledged; an error not Kafka's is raised."""
    if delivery.cancelled():
        return False
    error = delivery.exception()
    if error is not None and not isinstance(error, KafkaError):
        raise error
    return error is None
