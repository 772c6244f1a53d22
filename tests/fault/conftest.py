"""Fault-test fixtures: stacks of real service processes, and the target server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from tests.fault.load import Db, MakeStack, StartStack
from tests.harness import Stack
from tests.stack_fixtures import stack_logs_hook
from tests.stack_fixtures import target as target  # the session's target server

LIVE: list[Stack] = []
pytest_runtest_makereport = stack_logs_hook(LIVE)


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



@pytest.fixture
def start_stack(
    make_stack: MakeStack, mongo_client: AsyncMongoClient[dict[str, Any]],
) -> StartStack:
    """`stack, db = await start_stack(**env)`: a started stack of make_stack's, and its DB."""

    async def start(**env: str) -> tuple[Stack, Db]:
        stack = make_stack(**env)
        await asyncio.to_thread(stack.start)
        return stack, mongo_client[stack.database_name]

    return start
