"""Composition root of runner_svc: settings -> clients -> adapters -> worker -> loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.http_request import HttpRequestHandler
from runner_svc.actions.kafka_publish import KafkaPublishHandler
from runner_svc.actions.log import LogHandler
from runner_svc.actions.waits import WaitKindHandler
from runner_svc.consumer import ConsumerLoop
from runner_svc.poison import PoisonHandler
from runner_svc.secrets import EnvironmentSecrets
from runner_svc.worker import ExecutionWorker
from shared.adapters.clock import SystemClock
from shared.adapters.connect import KafkaProbe, ensure_execution_topic, retry_startup
from shared.adapters.kafka import ensure_topic, make_producer
from shared.adapters.kafka_consumer import KafkaDeadLetters
from shared.adapters.wiring import open_action_producer, open_consumer, open_stores
from shared.infra.logs import configure_logging, get_logger
from shared.infra.settings import Settings
from shared.infra.tracing import traced_process
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


def action_dispatcher(
    http: HttpRequestHandler, kafka: KafkaPublishHandler | None = None
) -> ActionDispatcher:
    """The action kinds this runner runs: one handler per `type`; secrets from the
    environment (`WFA_SECRET_<NAME>`). The wait kinds park the execution (runner_svc.attempt)
    and never reach their handler, which fails safe."""
    handlers: dict[str, Any] = {
        "log": LogHandler(), "http-request": http,
        "delay": WaitKindHandler(), "wait-for-signal": WaitKindHandler(),
    }
    if kafka is not None:
        handlers["kafka-publish"] = kafka
    return ActionDispatcher(handlers, secrets=EnvironmentSecrets())


async def run(settings: Settings) -> None:
    """Open everything, consume until signalled, close everything."""
    runner_id = settings.runner_id or uuid.uuid4().hex[:8]
    await ensure_execution_topic(settings)
    async with (
        open_stores(settings, background=True) as stores,
        HttpRequestHandler.from_settings(settings) as http,
        _poison_handler(settings) as on_poison,
        open_consumer(settings) as source,
        open_action_producer(settings) as producer,
    ):
        actions = action_dispatcher(http, KafkaPublishHandler.from_settings(producer, settings))
        worker = ExecutionWorker(
            workflows=stores.workflows, executions=stores.executions,
            actions=actions, clock=SystemClock(), retries=settings.execution_retries,
            lease_s=settings.lock_lease_s, backoff_scale=settings.retry_backoff_scale,
            max_interrupted_attempts=settings.max_interrupted_attempts,
            max_parallel_actions=settings.max_parallel_actions,
            action_slots=asyncio.Semaphore(settings.runner_max_actions),
            versions=stores.versions,
            record_after_s=settings.runner_record_after_ms / 1000,
        )
        loop = ConsumerLoop(
            source=source, handle=worker.run, concurrency=settings.runner_concurrency,
            on_poison=on_poison, commit_interval_s=settings.kafka_commit_interval_ms / 1000,
        )
        probe = KafkaProbe(settings.kafka_url)
        app = ops_app("runner_svc", {"mongodb": stores.ping, "kafka": probe})
        await source.start(loop.drain)
        log.info("runner started", runner_id=runner_id)
        try:
            await serve_with_loop(
                app, loop, host=settings.host, port=settings.port or DEFAULT_PORT
            )
        finally:
            await probe.close()


def main() -> None:
    """Console entry point."""
    settings = Settings()
    configure_logging("runner_svc", settings.log_level)
    with traced_process("runner_svc", endpoint=settings.otel_exporter_otlp_endpoint):
        serve.run(run(settings))  # on uvloop where installed
