"""End-to-end fixtures: the three services as real processes, driven over HTTP only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from tests.e2e.stacks import LIVE_STACKS, running_stack
from tests.harness import Stack
from tests.target_server import TargetServer


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when == "call":
        for stack in LIVE_STACKS:
            report.sections.append((f"stack {stack.name} logs", stack.logs()))


@pytest.fixture(scope="session")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mongo_url: str,
    kafka_url: str,
) -> Iterator[Stack]:
    """The tier's shared stack: fast retries (0.2 / 0.45 / 0.8 s), no trigger rate limit."""
    with running_stack(request, tmp_path_factory, mongo_url, kafka_url, label="main") as s:
        yield s


@pytest.fixture(scope="session")
def target() -> Iterator[TargetServer]:
    server = TargetServer().start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.api, timeout=15.0) as http:
        yield http
