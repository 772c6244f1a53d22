"""The scheduler's due pages on a real MongoDB: read off DUE_INDEX in order, without
sorting every due workflow; and a database indexed by the earlier version is upgraded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.adapters.mappers import WORKFLOW_HANDLER
from shared.adapters.mongo import MongoWorkflowRepository, ensure_indexes
from shared.adapters.mongo_indexes import DUE_INDEX, SUPERSEDED_DUE_INDEX
from shared.adapters.mongo_lifecycle import to_query_filter
from shared.domain.lifecycle import queries as lq
from shared.domain.lifecycle.language import Query
from tests.contract.helpers import at, periodic

pytestmark = pytest.mark.integration
Db = AsyncDatabase[dict[str, Any]]
DUE_N = 300
PAGE = 50


@pytest_asyncio.fixture
async def db(mongo_client: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[Db]:
    name = f"due_index_{uuid.uuid4().hex[:12]}"
    try:
        yield mongo_client[name]
    finally:
        await mongo_client.drop_database(name)


def _keys(info: dict[str, Any]) -> list[tuple[str, int]]:
    return [(field, int(direction)) for field, direction in info["key"]]


async def test_an_earlier_database_gets_the_due_index_and_loses_the_superseded_one(
    db: Db,
) -> None:
    old = await db["workflows"].create_index(
        [("status", ASCENDING), ("trigger.next_run", ASCENDING)]
    )
    assert old == SUPERSEDED_DUE_INDEX

    await ensure_indexes(db)
    await ensure_indexes(db)  # idempotent, the old one already gone

    indexes = await db["workflows"].index_information()
    assert SUPERSEDED_DUE_INDEX not in indexes
    assert [_keys(info) for info in indexes.values()].count(DUE_INDEX) == 1


async def _stats(db: Db, query: Query, params: dict[str, Any]) -> dict[str, Any]:
    """executionStats of the find the adapter sends for `query` (its filter, order, limit)."""
    command = {
        "find": "workflows", "filter": to_query_filter(query.where, params),
        "sort": {field: 1 for field in query.order}, "limit": PAGE,
    }
    explained = await db.command("explain", command, verbosity="executionStats")
    return dict(explained)


def _stages(plan: dict[str, Any]) -> list[str]:
    children = [plan.get("inputStage"), *plan.get("inputStages", [])]
    return [plan["stage"], *(s for c in children if c for s in _stages(c))]


async def test_a_due_page_is_read_off_the_index_in_order(db: Db) -> None:
    await ensure_indexes(db)
    repo = MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER)
    for n in range(DUE_N):  # two due instants, ids not in insertion order
        await repo.create(periodic(f"w{(n * 7919) % DUE_N:04d}", at(n % 2)))
    first = await repo.find_due(at(5), after=None, limit=PAGE)
    after = {"now": at(5), "after_next_run": first[-1].next_run,
             "after_id": first[-1].workflow_id}

    for query, params in ((lq.DUE, {"now": at(5)}), (lq.DUE_AFTER, after)):
        explained = await _stats(db, query, params)
        winning = explained["queryPlanner"]["winningPlan"]
        stages = _stages(winning.get("queryPlan", winning))  # nested when SBE runs it
        assert "SORT" not in stages, (query.name, stages)
        stats = explained["executionStats"]
        assert stats["nReturned"] == PAGE
        # Not the DUE_N due keys a sort would read: the page, and a key of lookahead or two.
        assert stats["totalKeysExamined"] <= PAGE + 3, (query.name, stats["totalKeysExamined"])
