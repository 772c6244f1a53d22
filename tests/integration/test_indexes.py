"""ensure_indexes on a real MongoDB: an index a longer one supersedes is dropped, also from a
database an earlier version created, and the queries it served stay index-served."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.adapters.mongo import ensure_indexes
from shared.adapters.mongo_indexes import SUPERSEDED_INDEXES

pytestmark = pytest.mark.integration
Client = AsyncMongoClient[dict[str, Any]]
Db = AsyncDatabase[dict[str, Any]]


@pytest_asyncio.fixture
async def db(mongo_client: Client) -> AsyncIterator[Db]:
    name = f"indexes_{uuid.uuid4().hex[:12]}"
    try:
        yield mongo_client[name]
    finally:
        await mongo_client.drop_database(name)


def _stages(plan: dict[str, Any]) -> list[str]:
    stage = [f"{plan['stage']}[{plan.get('indexName', '')}]"]
    return stage + [s for child in plan.get("inputStages", [plan.get("inputStage")])
                    if child for s in _stages(child)]


async def test_an_earlier_versions_index_is_dropped_and_its_queries_stay_served(db: Db) -> None:
    executions = db["executions"]
    await executions.create_index([("workflow_id", ASCENDING), ("status", ASCENDING)])
    assert "workflow_id_1_status_1" in await executions.index_information()

    await ensure_indexes(db)
    await ensure_indexes(db)  # idempotent: nothing left to drop the second time

    names = set(await executions.index_information())
    assert names.isdisjoint(SUPERSEDED_INDEXES["executions"])
    await executions.insert_many([
        {"id": f"e{i}", "workflow_id": f"w{i % 5}", "status": "ok", "created_at": i, "actions": {}}
        for i in range(50)
    ])
    explained = await executions.find(
        {"workflow_id": "w1", "status": "pending"}
    ).sort([("created_at", -1), ("id", -1)]).limit(20).explain()
    stages = _stages(explained["queryPlanner"]["winningPlan"])
    assert any(s.startswith("IXSCAN") for s in stages), stages
    assert not any(s.startswith(("COLLSCAN", "SORT")) for s in stages), stages
