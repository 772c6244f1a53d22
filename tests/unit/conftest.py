"""Unit-test fixtures: the services wired to in-memory adapters and a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryVersions,
    InMemoryWorkflowRepository,
)
from shared.domain.models import TriggerStatus
from shared.infra.settings import Settings
from shared.ports import Release
from shared.web.ops import ReadyCheck
from tests.fakes.clock import FakeClock
from workflows_svc.app import Wired, create_app
from workflows_svc.execution_service import ExecutionService
from workflows_svc.lifecycle_service import LifecycleService
from workflows_svc.service import WorkflowService


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def workflows() -> InMemoryWorkflowRepository:
    return InMemoryWorkflowRepository()


@pytest.fixture
def executions() -> InMemoryExecutionRepository:
    return InMemoryExecutionRepository()


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """Default settings; override fields with indirect parametrisation:

    `@pytest.mark.parametrize("settings", [{"api_key": "k"}], indirect=True)`.
    """
    overrides: dict[str, Any] = getattr(request, "param", None) or {}
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture
def ready_checks() -> dict[str, ReadyCheck]:
    """The readiness checks the `api` app reports; tests may replace entries."""

    async def ok() -> bool:
        return True

    return {"mongodb": ok, "kafka": ok}


@pytest.fixture
def service(
    workflows: InMemoryWorkflowRepository,
    executions: InMemoryExecutionRepository,
    publisher: InMemoryPublisher,
    clock: FakeClock,
    settings: Settings,
) -> WorkflowService:
    return WorkflowService(
        workflows=workflows,
        executions=executions,
        publisher=publisher,
        clock=clock,
        min_interval_s=settings.min_interval_s,
        trigger_rate_limit=settings.trigger_rate_limit,
    )


@pytest.fixture
def versions() -> InMemoryVersions:
    return InMemoryVersions()


@pytest.fixture
def lifecycle(
    service: WorkflowService, workflows: InMemoryWorkflowRepository, versions: InMemoryVersions,
    clock: FakeClock,
) -> LifecycleService:
    return LifecycleService(workflows=workflows, versions=versions, clock=clock,
                            definitions=service)


@pytest.fixture
def runs(
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    publisher: InMemoryPublisher, clock: FakeClock, settings: Settings,
) -> ExecutionService:
    return ExecutionService(workflows=workflows, executions=executions, publisher=publisher,
                            clock=clock, retries=settings.execution_retries)


@pytest_asyncio.fixture
async def api(
    service: WorkflowService, settings: Settings, ready_checks: dict[str, ReadyCheck],
    lifecycle: LifecycleService, runs: ExecutionService,
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for workflows_svc wired to the in-memory adapters."""

    @asynccontextmanager
    async def wiring(_: Settings) -> AsyncIterator[Wired]:
        yield Wired(service, ready_checks, lifecycle, runs)

    app = create_app(settings, wiring)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


CreateWorkflow = Callable[..., Awaitable[None]]
FinishRun = Callable[..., Awaitable[None]]


@pytest.fixture
def create_workflow(api: httpx.AsyncClient) -> CreateWorkflow:
    """POST a minimal valid workflow (manual unless `interval` is given); asserts 201."""

    async def create(workflow_id: str, *, interval: str | None = None) -> None:
        trigger: dict[str, str] = {"type": "manual"}
        if interval is not None:
            trigger = {"type": "periodic", "interval": interval}
        body = {
            "workflowId": workflow_id,
            "trigger": trigger,
            "actions": [{"type": "log", "message": "hello"}],
        }
        response = await api.post("/workflows", json=body)
        assert response.status_code == 201, response.text

    return create


@pytest.fixture
def finish_run(workflows: InMemoryWorkflowRepository, clock: FakeClock) -> FinishRun:
    """Play the runner through the repository port: lock a `scheduled` workflow, release it."""

    async def finish(
        workflow_id: str,
        *,
        trigger_status: TriggerStatus | None = None,
        next_run: datetime | None = None,
        keep_execution: bool = False,
    ) -> None:
        token = uuid.uuid4().hex
        locked = await workflows.lock(
            workflow_id, token=token, lease_until=clock.now() + timedelta(seconds=60)
        )
        assert locked is not None, f"{workflow_id} was not scheduled"
        execution_id = locked.trigger.execution_id if keep_execution else None
        released = await workflows.release(
            Release(
                workflow_id=workflow_id,
                lock_token=token,
                trigger_status=trigger_status,
                next_run=next_run,
                execution_id=execution_id,
            )
        )
        assert released

    return finish
