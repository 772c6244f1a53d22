"""Unit-test fixtures: the services wired to in-memory adapters and a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio

from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.clock import FakeClock
from shared.settings import Settings
from workflows_svc.app import Wired, create_app
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
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def service(
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    publisher: InMemoryPublisher, clock: FakeClock, settings: Settings,
) -> WorkflowService:
    return WorkflowService(
        workflows=workflows, executions=executions, publisher=publisher, clock=clock,
        min_interval_s=settings.min_interval_s, trigger_rate_limit=settings.trigger_rate_limit,
    )


@pytest_asyncio.fixture
async def api(service: WorkflowService, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for workflows_svc wired to the in-memory adapters."""

    @asynccontextmanager
    async def wiring(_: Settings) -> AsyncIterator[Wired]:
        async def ok() -> bool:
            return True

        yield Wired(service, {"mongodb": ok, "kafka": ok})

    app = create_app(settings, wiring)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
