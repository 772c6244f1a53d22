"""Composition root of workflows_svc: settings -> clients -> adapters -> service -> app."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from shared.actions.rules import ActionRules
from shared.adapters.clock import SystemClock
from shared.adapters.connect import KafkaProbe
from shared.adapters.wiring import open_publisher, open_stores
from shared.infra.logs import configure_logging
from shared.infra.settings import Settings
from shared.infra.tracing import traced_process
from shared.ports import Clock, QueueDepth
from shared.web.serve import freeze_startup_heap
from workflows_svc.admission import QueueBound
from workflows_svc.app import Wired, create_app
from workflows_svc.execution_service import ExecutionService
from workflows_svc.lifecycle_service import LifecycleService
from workflows_svc.service import WorkflowService

DEFAULT_PORT = 8081


@asynccontextmanager
async def wire(settings: Settings) -> AsyncIterator[Wired]:
    """Open MongoDB and Kafka, build the service, close everything on exit."""
    clock = SystemClock()
    async with open_stores(settings) as stores, open_publisher(settings) as publisher, \
            _queue_bound(settings, stores.workflows, clock) as queue:
        probe = KafkaProbe(settings.kafka_url)
        service = WorkflowService(
            workflows=stores.workflows, executions=stores.executions, publisher=publisher,
            clock=clock,
            min_interval_s=settings.min_interval_s,
            trigger_rate_limit=settings.trigger_rate_limit,
            action_rules=ActionRules(
                max_timeout_s=settings.http_timeout_s,
                allowed_topics=ActionRules.parse_allowed(settings.kafka_publish_allowed),
                reserved_topics=settings.reserved_topics(),
            ),
            shed_trigger=queue.sheds if queue else None,
        )
        lifecycle = LifecycleService(
            workflows=stores.workflows, versions=stores.versions, clock=clock,
            definitions=service,
        )
        runs = ExecutionService(
            workflows=stores.workflows, executions=stores.executions, publisher=publisher,
            clock=clock, retries=settings.execution_retries,
        )
        try:
            yield Wired(service, {"mongodb": stores.ping, "kafka": probe}, lifecycle, runs)
        finally:
            await probe.close()


@asynccontextmanager
async def _queue_bound(settings: Settings, depth: QueueDepth, clock: Clock
                       ) -> AsyncIterator[QueueBound | None]:
    """API_MAX_QUEUE_WAIT_MS's sampler while the app runs; None when the bound is off."""
    if settings.api_max_queue_wait_ms <= 0:
        yield None
        return
    bound = QueueBound(depth, clock, max_wait_ms=settings.api_max_queue_wait_ms)
    async with bound.sampling():
        yield bound


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(settings, wire)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    """Console entry point: serve the API until SIGTERM/SIGINT."""
    settings = Settings()
    configure_logging("workflows_svc", settings.log_level)
    # uvicorn re-raises the signal it stopped on once its graceful shutdown is done, which
    # would end the process "killed by SIGTERM"; a graceful stop is a clean exit (status 0).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    with traced_process("workflows_svc", endpoint=settings.otel_exporter_otlp_endpoint):
        app = build_app(settings)
        freeze_startup_heap()  # the imports and the app; the lifespan's wiring comes after
        uvicorn.run(
            app, host=settings.host, port=settings.port or DEFAULT_PORT,
            log_config=None, access_log=False, timeout_graceful_shutdown=10,
        )
