"""Integration-test fixtures: a created Kafka topic, a started producer, and a database whose
commands are counted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient, monitoring

from shared.adapters.kafka import ensure_topic, make_producer
from shared.adapters.mongo import ensure_indexes

TOPIC_PARTITIONS = 3


@pytest_asyncio.fixture
async def topic(kafka_url: str, unique_topic: str) -> str:
    """A fresh topic of this test, created with several partitions."""
    await ensure_topic(kafka_url, unique_topic, TOPIC_PARTITIONS)
    return unique_topic


@pytest_asyncio.fixture
async def producer(kafka_url: str) -> AsyncIterator[AIOKafkaProducer]:
    """The product's producer (idempotent, acks=all), started; stopped afterwards."""
    started = make_producer(kafka_url)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


class Commands(monitoring.CommandListener):
    """The commands sent to one database."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database:
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@pytest_asyncio.fixture
async def counted(mongo_url: str) -> AsyncIterator[tuple[Any, Commands]]:
    """A database of this test (indexes made) and the commands sent to it."""
    name = f"trips_{uuid.uuid4().hex[:12]}"
    commands = Commands(name)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_url, tz_aware=True, event_listeners=[commands]
    )
    try:
        db = client[name]
        await ensure_indexes(db)
        yield db, commands
    finally:
        await client.drop_database(name)
        await client.close()
