"""Adapter wiring written once: the stores, the publisher and the consumer of a service.

Every composition root (and the tests and benchmarks that need the real adapters) builds
them here, so a new store or a changed driver option is one edit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.adapters.connect import open_database, open_producer, ping_database
from shared.adapters.kafka import KafkaPublisher, ProducerHandle
from shared.adapters.kafka_consumer import KafkaMessageSource, make_consumer
from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.adapters.mongo import (
    MongoExecutionRepository,
    MongoVersions,
    MongoWorkflowRepository,
)
from shared.adapters.mongo_watch import MongoNextRunWatch
from shared.infra.settings import Settings


@dataclass(frozen=True, slots=True)
class Stores:
    """The MongoDB-backed stores of one database; one class may serve several role ports."""

    database: AsyncDatabase[dict[str, Any]]
    workflows: MongoWorkflowRepository
    executions: MongoExecutionRepository
    versions: MongoVersions

    async def ping(self) -> bool:
        """Readiness check of the database."""
        return await ping_database(self.database)

    def next_run_watch(self) -> MongoNextRunWatch:
        """A change stream of the workflows' next runs (the scheduler's wake-ups)."""
        return MongoNextRunWatch(self.database["workflows"])


def stores_on(database: AsyncDatabase[dict[str, Any]], *, coalesce_writes: bool = True
              ) -> Stores:
    """The stores on an open database handle (`coalesce_writes`: see the adapters)."""
    return Stores(
        database=database,
        workflows=MongoWorkflowRepository(
            database["workflows"], WORKFLOW_HANDLER, coalesce_writes=coalesce_writes
        ),
        executions=MongoExecutionRepository(
            database["executions"], EXECUTION_HANDLER, coalesce_writes=coalesce_writes
        ),
        versions=MongoVersions(database["workflow_versions"]),
    )


@asynccontextmanager
async def open_stores(settings: Settings, *, background: bool = False) -> AsyncIterator[Stores]:
    """The stores on the configured database (indexes in place); closed on exit.
    `background`: a service with no client waiting on it (see `connect.mongo_client`)."""
    async with open_database(settings, background=background) as database:
        yield stores_on(database, coalesce_writes=settings.db_coalesce_writes)


@asynccontextmanager
async def open_publisher(settings: Settings) -> AsyncIterator[KafkaPublisher]:
    """The execution-request publisher on a started producer, flushed and stopped on exit."""
    async with open_producer(settings) as producer:
        yield KafkaPublisher(
            producer, settings.kafka_topic, timeout_s=settings.kafka_send_timeout_s
        )


@asynccontextmanager
async def open_action_producer(settings: Settings) -> AsyncIterator[ProducerHandle]:
    """The producer of kafka-publish actions (acks=all), flushed and stopped on exit."""
    async with open_producer(settings) as producer:
        yield producer


@asynccontextmanager
async def open_consumer(settings: Settings) -> AsyncIterator[KafkaMessageSource]:
    """The runners' group consumer of the execution topic, timeouts from settings.

    Yielded before it starts: the caller starts it with the callback that drains work on a
    rebalance (`KafkaMessageSource.start`); stopped on exit (leaving the group at once)."""
    consumer = make_consumer(
        settings.kafka_url, settings.kafka_consumer_group,
        session_timeout_ms=int(settings.kafka_session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.kafka_heartbeat_interval_s * 1000),
        max_poll_interval_ms=int(settings.kafka_max_poll_interval_s * 1000),
        rebalance_timeout_ms=int(settings.kafka_rebalance_timeout_s * 1000),
    )
    source = KafkaMessageSource(consumer, settings.kafka_topic)
    try:
        yield source
    finally:
        await source.stop()
