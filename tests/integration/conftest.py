"""Integration-test fixtures: a created Kafka topic and a started producer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiokafka import AIOKafkaProducer

from shared.adapters.kafka import ensure_topic, make_producer

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
