"""Composition root of runner_svc: settings -> clients -> adapters -> worker -> loop."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.http_request import HttpRequestHandler
from runner_svc.actions.log import LogHandler
from runner_svc.consumer import ConsumerLoop
from runner_svc.poison import PoisonHandler
from runner_svc.worker import ExecutionWorker
from shared.adapters.clock import SystemClock
from shared.adapters.connect import (
    KafkaProbe,
    ensure_execution_topic,
    open_consumer,
    open_database,
    ping_database,
    retry_startup,
)
from shared.adapters.kafka import KafkaDeadLetters, KafkaMessageSource, ensure_topic, make_producer
from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.adapters.mongo import MongoExecutionRepository, MongoWorkflowRepository
from shared.infra.logs import configure_logging, get_logger
from shared.infra.settings import Settings
from shared.web import serve
from shared.web.ops import ops_app
from shared.web.serve import serve_with_loop

DEFAULT_PORT = 8083
log = get_logger(__name__)


@asynccontextmanager
async def _poison_handler(settings: Settings) -> AsyncIterator[PoisonHandler]:
    """Poison records go to the dead-letter topic (created here), unless it is turned off."""
    topic = settings.dead_letter_topic()
    if topic is None:
        yield PoisonHandler()
        return
    await retry_startup("kafka", lambda: ensure_topic(settings.kafka_url, topic, 1))
    producer = make_producer(
        settings.kafka_url, request_timeout_ms=int(settings.kafka_send_timeout_s * 1000)
    )
    await retry_startup("kafka", producer.start)
    try:
        sink = KafkaDeadLetters(producer, topic, source_topic=settings.kafka_topic,
                                timeout_s=settings.kafka_send_timeout_s)
        yield PoisonHandler(sink, topic=topic)
    finally:
        await producer.stop()


def action_dispatcher(http: HttpRequestHandler) -> ActionDispatcher:
    """The action kinds this runner runs: one handler per `type`."""
    return ActionDispatcher({
        "log": LogHandler(),
        "http-request": http,
    })


async def run(settings: Settings) -> None:
    """Open everything, consume until signalled, close everything."""
    runner_id = settings.runner_id or uuid.uuid4().hex[:8]
    await ensure_execution_topic(settings)
    async with (
        open_database(settings, background=True) as db,
        HttpRequestHandler.from_settings(settings) as http,
        _poison_handler(settings) as on_poison,
    ):
        actions = action_dispatcher(http)
        worker = ExecutionWorker(
            workflows=MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER),
            executions=MongoExecutionRepository(db["executions"], EXECUTION_HANDLER),
            actions=actions, clock=SystemClock(), retries=settings.execution_retries,
            lease_s=settings.lock_lease_s, backoff_scale=settings.retry_backoff_scale,
            max_interrupted_attempts=settings.max_interrupted_attempts,
        )
        consumer = open_consumer(settings)
        source = KafkaMessageSource(consumer, settings.kafka_topic)
        loop = ConsumerLoop(
            source=source, handle=worker.run, concurrency=settings.runner_concurrency,
            on_poison=on_poison,
        )
        source.subscribe(loop.drain)
        probe = KafkaProbe(settings.kafka_url)
        app = ops_app("runner_svc", {"mongodb": lambda: ping_database(db), "kafka": probe})
        await consumer.start()
        log.info("runner started", runner_id=runner_id)
        try:
            await serve_with_loop(
                app, loop, host=settings.host, port=settings.port or DEFAULT_PORT
            )
        finally:
            await consumer.stop()
            await probe.close()


def main() -> None:
    """Console entry point."""
    settings = Settings()
    configure_logging("runner_svc", settings.log_level)
    serve.run(run(settings))  # on uvloop where installed
