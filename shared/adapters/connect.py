"""Opening and closing the drivers' clients; used by the services' composition roots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.client import AIOKafkaClient
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from shared.adapters.kafka import ProducerHandle, ensure_topic, make_producer
from shared.adapters.mongo import ensure_indexes
from shared.infra.logs import get_logger
from shared.infra.metrics import DB_COMMANDS
from shared.infra.settings import Settings

log = get_logger(__name__)
STARTUP_DEADLINE_S = 120.0


async def retry_startup(what: str, attempt: Any) -> Any:
    """Retry a startup step while a dependency comes up, for a bounded time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_DEADLINE_S
    delay_s = 0.2
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if loop.time() + delay_s > deadline:
                raise
            log.warning("dependency not ready, retrying", dependency=what, error=repr(exc))
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 5.0)


class CommandCounter(monitoring.CommandListener):
    """Counts the commands sent to the database by name (`db_commands_total`)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        DB_COMMANDS.labels(event.command_name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def mongo_client(
    settings: Settings, *, background: bool = False
) -> AsyncMongoClient[dict[str, Any]]:
    """The client every service uses (README "Running on a cluster").

    Writes are acknowledged once `DB_WRITE_CONCERN` members have them (majority: a write
    that was acknowledged survives the loss of the primary; with w=1 an acknowledged claim
    or result can be rolled back by a failover and be lost) and are retried once on a
    failover error (retryWrites: the server recognises a write it already applied, so a
    compare-and-set is not applied twice). Reads use `DB_READ_CONCERN` (majority: never
    state that a failover rolls back) and are retried once (retryReads).

    The API (`background=False`) gives up after `DB_TIMEOUT_S` without a primary, so that a
    failover answers 503 quickly and the client retries. The scheduler and the runner
    (`background=True`) bound each operation by `DB_OPERATION_TIMEOUT_S` instead, within
    which the driver waits for a new primary and retries the operation as often as needed,
    so an election (about 12 s after a primary dies) delays their work instead of failing
    it into the recovery paths (stuck runs, expired leases)."""
    timeout_ms = int(settings.db_timeout_s * 1000)
    listeners = [CommandCounter()] if settings.db_command_metrics else []
    options: dict[str, Any] = {}
    if background and settings.db_operation_timeout_s > 0:
        options["timeoutMS"] = int(settings.db_operation_timeout_s * 1000)
    return AsyncMongoClient(
        settings.database_url, tz_aware=True, serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms, maxPoolSize=64, appname="workflow-automation",
        event_listeners=listeners, w=settings.write_concern_w(),
        readConcernLevel=settings.db_read_concern, retryWrites=True, retryReads=True,
        **options,
    )


@asynccontextmanager
async def open_database(
    settings: Settings, *, background: bool = False
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A database handle with our indexes in place; the client closes on exit.
    `background`: a service with no client waiting on it (see `mongo_client`)."""
    client = mongo_client(settings, background=background)
    try:
        db = client[settings.database_name]
        await retry_startup("mongodb", lambda: ensure_indexes(db))
        yield db
    finally:
        await client.close()


async def ping_database(db: AsyncDatabase[dict[str, Any]]) -> bool:
    await db.command("ping")
    return True


async def ensure_execution_topic(settings: Settings) -> None:
    """Create the execution topic (partitions, replication factor, min ISR from settings)."""
    await retry_startup("kafka", lambda: ensure_topic(
        settings.kafka_url, settings.kafka_topic, settings.kafka_topic_partitions,
        replication_factor=settings.kafka_replication_factor,
        min_insync_replicas=settings.kafka_min_insync_replicas,
    ))


@asynccontextmanager
async def open_producer(settings: Settings) -> AsyncIterator[ProducerHandle]:
    """A started producer (acks=all), the topic created; stopped (flushed) on exit."""
    await ensure_execution_topic(settings)
    producer = ProducerHandle(lambda: make_producer(
        settings.kafka_url, request_timeout_ms=int(settings.kafka_send_timeout_s * 1000),
        idempotent=settings.kafka_idempotence,
    ))
    await retry_startup("kafka", producer.start)
    try:
        yield producer
    finally:
        await producer.stop()


class KafkaProbe:
    """Readiness check: a metadata request to the cluster succeeds."""

    def __init__(self, bootstrap: str) -> None:
        self._client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        self._started = False

    async def __call__(self) -> bool:
        if not self._started:
            await self._client.bootstrap()
            self._started = True
        await self._client.fetch_all_metadata()
        return True

    async def close(self) -> None:
        await self._client.close()
