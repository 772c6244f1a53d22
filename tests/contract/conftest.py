"""Contract-test fixtures: the same repository tests against every adapter pair."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryVersions,
    InMemoryWorkflowRepository,
)
from shared.adapters.mongo import (
    MongoExecutionRepository,
    MongoVersions,
    MongoWorkflowRepository,
    ensure_indexes,
)
from shared.ports import ExecutionRepository, WorkflowRepository, WorkflowVersions


@dataclass
class Repos:
    kind: str
    workflows: WorkflowRepository
    executions: ExecutionRepository
    versions: WorkflowVersions


@pytest_asyncio.fixture
async def fresh_db(mongo_client: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[Any]:
    """A database of its own for one test, with the adapters' indexes; dropped afterwards."""
    name = f"contract_{uuid.uuid4().hex[:12]}"
    db = mongo_client[name]
    await ensure_indexes(db)
    try:
        yield db
    finally:
        await mongo_client.drop_database(name)


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
def repos(request: pytest.FixtureRequest) -> Repos:
    """The repository pair under test; the mongo one on a database of its own."""
    if request.param == "memory":
        return Repos("memory", InMemoryWorkflowRepository(), InMemoryExecutionRepository(),
                     InMemoryVersions())
    db = request.getfixturevalue("fresh_db")
    return Repos(
        "mongo",
        MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER),
        MongoExecutionRepository(db["executions"], EXECUTION_HANDLER),
        MongoVersions(db["workflow_versions"]),
    )
