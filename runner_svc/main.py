"""Composition root of runner_svc: settings -> clients -> adapters -> worker -> loop."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from runner_svc.actions import DefaultActionRunner, HttpTargetGuard
from runner_svc.consumer import ConsumerLoop
from runner_svc.worker import ExecutionWorker
from shared.adapters.connect import (
    KafkaProbe,
    ensure_execution_topic,
    open_consumer,
    open_database,
    ping_database,
)
from shared.adapters.kafka import KafkaMessageSource
from shared.adapters.mongo import MongoExecutionRepository, MongoWorkflowRepository
from shared.clock import SystemClock
from shared.logs import configure_logging, get_logger
from shared.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.ops import ops_app
from shared.serve import serve_with_loop
from shared.settings import Settings

DEFAULT_PORT = 8083
log = get_logger(__name__)


def _http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.http_timeout_s),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        trust_env=False, headers={"user-agent": "workflow-runner/1.0"},
    )


async def run(settings: Settings) -> None:
    """Open everything, consume until signalled, close everything."""
    runner_id = settings.runner_id or uuid.uuid4().hex[:8]
    await ensure_execution_topic(settings)
    async with open_database(settings, background=True) as db, _http_client(settings) as client:
        actions = DefaultActionRunner(
            client=client, guard=HttpTargetGuard(settings.deny_networks()),
            timeout_s=settings.http_timeout_s,
            max_response_bytes=settings.http_max_response_bytes,
            max_redirects=settings.http_max_redirects,
        )
        worker = ExecutionWorker(
            workflows=MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER),
            executions=MongoExecutionRepository(db["executions"], EXECUTION_HANDLER),
            actions=actions, clock=SystemClock(), retries=settings.execution_retries,
            lease_s=settings.lock_lease_s, backoff_scale=settings.retry_backoff_scale,
        )
        consumer = open_consumer(settings)
        source = KafkaMessageSource(consumer, settings.kafka_topic)
        loop = ConsumerLoop(
            source=source, handle=worker.run, concurrency=settings.runner_concurrency
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
    asyncio.run(run(settings))
