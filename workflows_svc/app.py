"""The FastAPI application of workflows_svc; its dependencies come from a lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI

from shared.infra.settings import Settings
from shared.web.errors import install_error_handlers
from shared.web.limits import install_limits
from shared.web.ops import ReadyCheck, ops_router
from shared.web.shedding import LoadShedder
from workflows_svc.execution_service import ExecutionService
from workflows_svc.lifecycle_service import LifecycleService
from workflows_svc.routes import executions, lifecycle, signals, workflows
from workflows_svc.service import WorkflowService
from workflows_svc.ui import router as ui_router


@dataclass
class Wired:
    """What the composition root hands the app: its service and readiness checks."""

    service: WorkflowService
    ready_checks: dict[str, ReadyCheck] = field(default_factory=dict)
    # SPEC 12's use cases; None (some tests): their endpoints answer 503.
    lifecycle: LifecycleService | None = None
    runs: ExecutionService | None = None


Wiring = Callable[[Settings], AbstractAsyncContextManager[Wired]]


def create_app(settings: Settings, wiring: Wiring) -> FastAPI:
    """Build the app; `wiring` opens the service's ports for the app's lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with wiring(settings) as wired:
            app.state.service = wired.service
            app.state.ready_checks = wired.ready_checks
            app.state.lifecycle = wired.lifecycle
            app.state.runs = wired.runs
            yield

    app = FastAPI(
        title="workflows_svc", version="1.0.0", lifespan=lifespan,
        description="Define workflows, trigger them and read their executions.",
    )
    install_error_handlers(app)
    install_limits(app, max_body_bytes=settings.max_body_bytes, api_key=settings.api_key)
    app.include_router(workflows.router)
    app.include_router(lifecycle.router)
    app.include_router(executions.router)
    app.include_router(signals.router)
    app.include_router(ops_router())
    app.include_router(ui_router)
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # Server spans named by route ("POST /workflows/{workflow_id}/trigger"), context
        # taken from an incoming `traceparent`.
        FastAPIInstrumentor.instrument_app(app, exclude_spans=["receive", "send"])
    # Outermost (added last): a shed request costs no routing, validation or metrics work.
    app.add_middleware(LoadShedder, max_in_flight=settings.api_max_in_flight)
    return app
