"""End-to-end fixtures: the three services as real processes, driven over HTTP only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial

import httpx
import pytest
import pytest_asyncio

from tests.e2e.helpers import api_client
from tests.e2e.stacks import LIVE_STACKS, StartStack, running_stack
from tests.harness import Stack
from tests.stack_fixtures import stack_logs_hook
from tests.stack_fixtures import target as target  # the session's target server

pytest_runtest_makereport = stack_logs_hook(LIVE_STACKS)


@pytest.fixture(scope="session")
def start_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mongo_url: str,
    kafka_url: str,
) -> StartStack:
    """`with start_stack(label=..., env=...) as stack:` runs a stack of its own."""
    return partial(running_stack, request, tmp_path_factory, mongo_url, kafka_url)


@pytest.fixture(scope="session")
def stack(start_stack: StartStack) -> Iterator[Stack]:
    """The tier's shared stack: fast retries (0.2 / 0.45 / 0.8 s), no trigger rate limit."""
    with start_stack(label="main") as s:
        yield s


@pytest_asyncio.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(stack.api) as http:
        yield http
