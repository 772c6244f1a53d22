"""EXECUTION_RETENTION on a real MongoDB: a TTL index on `finished_at` (issue 13 #14)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.adapters.mappers import EXECUTION_HANDLER
from shared.adapters.mongo import MongoExecutionRepository, ensure_indexes
from shared.adapters.mongo_indexes import RETENTION_INDEX, apply_retention
from shared.domain.models import Execution, ExecutionStatus
from shared.domain.timing import to_ms
from tests.polling import eventually

pytestmark = pytest.mark.integration
Client = AsyncMongoClient[dict[str, Any]]
EXPIRY_DEADLINE_S = 150.0  # the TTL monitor's period is 60 s


@pytest_asyncio.fixture
async def db(mongo_client: Client) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    name = f"retention_{uuid.uuid4().hex[:12]}"
    database = mongo_client[name]
    await ensure_indexes(database)
    try:
        yield database
    finally:
        await mongo_client.drop_database(name)


def execution(execution_id: str, finished_at: datetime | None) -> Execution:
    status = ExecutionStatus.PENDING if finished_at is None else ExecutionStatus.OK
    return Execution(
        id=execution_id, workflow_id="w", status=status, finished_at=finished_at,
        created_at=to_ms(datetime.now(UTC) - timedelta(days=3)), retries=4, total_actions=1,
    )


async def ttl_of(db: AsyncDatabase[dict[str, Any]]) -> int | None:
    index = (await db["executions"].index_information()).get(RETENTION_INDEX)
    return None if index is None else int(index["expireAfterSeconds"])


async def test_retention_expires_finished_executions_only(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    """The server's TTL monitor deletes them (it wakes every 60 s: this waits up to that)."""
    repo = MongoExecutionRepository(db["executions"], EXECUTION_HANDLER)
    now = to_ms(datetime.now(UTC))
    await apply_retention(db["executions"], 3_600)
    for row in (execution("old", now - timedelta(hours=2)), execution("recent", now),
                execution("pending", None)):
        await repo.get_or_create(row)

    async def expired() -> bool:
        return await repo.get("old") is None

    await eventually(expired, timeout_s=EXPIRY_DEADLINE_S, interval_s=0.5, what="TTL expiry")

    assert await repo.get("recent") is not None
    assert await repo.get("pending") is not None
    assert await ttl_of(db) == 3_600


async def test_retention_is_changed_and_turned_off(db: AsyncDatabase[dict[str, Any]]) -> None:
    assert await ttl_of(db) is None  # default off: no TTL index at all

    await apply_retention(db["executions"], 30 * 86_400)
    await apply_retention(db["executions"], 30 * 86_400)  # idempotent
    assert await ttl_of(db) == 30 * 86_400

    await apply_retention(db["executions"], 7 * 86_400)
    assert await ttl_of(db) == 7 * 86_400

    await apply_retention(db["executions"], None)
    await apply_retention(db["executions"], None)
    assert await ttl_of(db) is None
