"""Composition root of scheduler_svc: settings -> clients -> adapters -> loop."""

from __future__ import annotations

import os
import signal

from scheduler_svc.scheduler import FaultHook, Scheduler
from shared.adapters.clock import SystemClock
from shared.adapters.connect import (
    KafkaProbe,
    open_database,
    open_producer,
    ping_database,
    retry_startup,
)
from shared.adapters.kafka import KafkaPublisher
from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.adapters.mongo import MongoExecutionRepository, MongoWorkflowRepository
from shared.adapters.mongo_indexes import apply_retention
from shared.adapters.mongo_watch import MongoNextRunWatch
from shared.infra.logs import configure_logging, get_logger
from shared.infra.settings import Settings
from shared.web import serve
from shared.web.ops import ops_app
from shared.web.serve import serve_with_loop

DEFAULT_PORT = 8082
log = get_logger(__name__)


def _fault_hook(settings: Settings) -> FaultHook | None:
    """Test-only: SCHEDULER_FAULT=after_claim kills the process between claim and produce."""
    fault = os.environ.get("SCHEDULER_FAULT")
    if not (settings.test_fault_hooks and fault):
        return None

    def hook(point: str) -> None:
        if point == fault:
            log.warning("fault hook: killing the scheduler", point=point)
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


async def run(settings: Settings) -> None:
    """Open everything, tick until signalled, close everything."""
    async with open_database(settings, background=True) as db, \
            open_producer(settings) as producer:
        # The scheduler alone owns the executions' retention, so services configured
        # differently never undo each other's TTL index.
        retention_s = settings.execution_retention_s()
        await retry_startup(
            "mongodb", lambda: apply_retention(db["executions"], retention_s)
        )
        scheduler = Scheduler(
            workflows=MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER),
            executions=MongoExecutionRepository(db["executions"], EXECUTION_HANDLER),
            publisher=KafkaPublisher(
                producer, settings.kafka_topic, timeout_s=settings.kafka_send_timeout_s
            ),
            clock=SystemClock(), interval_s=settings.scheduler_interval,
            batch_size=settings.scheduler_batch_size,
            scheduled_timeout_s=settings.scheduled_timeout_s, fault_hook=_fault_hook(settings),
            watch=MongoNextRunWatch(db["workflows"]) if settings.scheduler_change_stream else None,
        )
        probe = KafkaProbe(settings.kafka_url)
        app = ops_app("scheduler_svc", {"mongodb": lambda: ping_database(db), "kafka": probe})
        try:
            await serve_with_loop(
                app, scheduler, host=settings.host, port=settings.port or DEFAULT_PORT
            )
        finally:
            await probe.close()


def main() -> None:
    """Console entry point."""
    settings = Settings()
    configure_logging("scheduler_svc", settings.log_level)
    serve.run(run(settings))  # on uvloop where installed
