"""Composition root of scheduler_svc: settings -> clients -> adapters -> loop."""

from __future__ import annotations

from scheduler_svc.scheduler import FaultHook, Scheduler
from shared.adapters.clock import SystemClock
from shared.adapters.connect import KafkaProbe, retry_startup
from shared.adapters.mongo_indexes import apply_retention
from shared.adapters.wiring import open_publisher, open_stores
from shared.infra.logs import configure_logging, get_logger
from shared.infra.settings import Settings
from shared.infra.tracing import traced_process
from shared.web import serve
from shared.web.ops import ops_app
from shared.web.serve import serve_with_loop

DEFAULT_PORT = 8082
log = get_logger(__name__)


async def run(settings: Settings, *, fault_hook: FaultHook | None = None) -> None:
    """Open everything, tick until signalled, close everything.

    `fault_hook`: test-only wiring (tests/fault/faulty_scheduler.py), never set in production.
    """
    async with open_stores(settings, background=True) as stores, \
            open_publisher(settings) as publisher:
        # The scheduler alone owns the executions' retention, so services configured
        # differently never undo each other's TTL index.
        retention_s = settings.execution_retention_s()
        await retry_startup(
            "mongodb", lambda: apply_retention(stores.database["executions"], retention_s)
        )
        scheduler = Scheduler(
            workflows=stores.workflows, executions=stores.executions, publisher=publisher,
            clock=SystemClock(), interval_s=settings.scheduler_interval,
            batch_size=settings.scheduler_batch_size,
            scheduled_timeout_s=settings.scheduled_timeout_s, fault_hook=fault_hook,
            watch=stores.next_run_watch() if settings.scheduler_change_stream else None,
        )
        probe = KafkaProbe(settings.kafka_url)
        app = ops_app("scheduler_svc", {"mongodb": stores.ping, "kafka": probe})
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
    with traced_process("scheduler_svc", endpoint=settings.otel_exporter_otlp_endpoint):
        serve.run(run(settings))  # on uvloop where installed
