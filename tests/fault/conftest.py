"""Fault-test fixtures: stacks of real service processes, and the target server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from tests.fault.load import MakeStack
from tests.harness import Stack
from tests.target_server import TargetServer

LIVE: list[Stack] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when == "call":
        for stack in LIVE:
            report.sections.append((f"stack {stack.name} logs", stack.logs()))


@pytest.fixture(scope="session")
def target() -> Iterator[TargetServer]:
    server = TargetServer().start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def make_stack(
    tmp_path: Path, mongo_url: str, kafka_url: str,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> AsyncIterator[MakeStack]:
    """A factory of (unstarted) stacks; each is stopped, and its DB and topic dropped, after."""
    made: list[Stack] = []

    def make(**env: str) -> Stack:
        stack = Stack(mongo_url, kafka_url, workdir=tmp_path / f"stack{len(made)}", env=env)
        made.append(stack)
        LIVE.append(stack)
        return stack

    yield make
    for stack in made:
        LIVE.remove(stack)
        await asyncio.to_thread(stack.stop)
        with contextlib.suppress(Exception):
            await mongo_client.drop_database(stack.database_name)
        with contextlib.suppress(Exception):
            admin = AIOKafkaAdminClient(bootstrap_servers=kafka_url)
            await admin.start()
            try:
                await admin.delete_topics([stack.base_env()["KAFKA_TOPIC"]])
            finally:
                await admin.close()

