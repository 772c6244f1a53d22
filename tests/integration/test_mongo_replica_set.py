"""Foundation: what a real mongod running as a replica set gives that a stand-in did not.

Change streams (the scheduler's wake-ups), multi-document transactions and TTL indexes
(execution retention) are production features; these tests prove the local server has them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.polling import eventually

pytestmark = pytest.mark.integration

Db = AsyncDatabase[dict[str, Any]]


async def test_server_is_a_writable_primary_of_a_replica_set(
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    hello = await mongo_client.admin.command("hello")
    info = await mongo_client.admin.command("buildInfo")
    assert hello.get("setName"), f"not a replica set member: {hello}"
    assert hello.get("isWritablePrimary") is True, hello
    assert int(info["version"].split(".")[0]) >= 6, info["version"]


async def test_change_stream_sees_an_insert_and_an_update(mongo_db: Db) -> None:
    col = mongo_db[f"cs_{uuid.uuid4().hex[:6]}"]
    await col.insert_one({"_id": "seed"})  # the collection exists before watching
    async with await col.watch(full_document="updateLookup", max_await_time_ms=200) as stream:
        await col.insert_one({"_id": "a", "next_run": 1})
        await col.update_one({"_id": "a"}, {"$set": {"next_run": 2}})
        seen: list[tuple[str, Any]] = []
        async with asyncio.timeout(15):
            while len(seen) < 2:
                change = await stream.try_next()
                if change is not None:
                    seen.append((change["operationType"], change["fullDocument"]["next_run"]))
    assert seen == [("insert", 1), ("update", 2)]


async def test_transaction_commits_both_documents_or_neither(
    mongo_client: AsyncMongoClient[dict[str, Any]], mongo_db: Db
) -> None:
    col = mongo_db[f"tx_{uuid.uuid4().hex[:6]}"]
    await col.insert_one({"_id": "exists"})
    async with mongo_client.start_session() as session:
        with pytest.raises(RuntimeError):
            async with await session.start_transaction():
                await col.insert_one({"_id": "x"}, session=session)
                raise RuntimeError("abort")
        async with await session.start_transaction():
            await col.insert_one({"_id": "y"}, session=session)
            await col.insert_one({"_id": "z"}, session=session)
    assert sorted(d["_id"] for d in await col.find({}).to_list()) == ["exists", "y", "z"]


async def test_ttl_index_expires_documents(
    mongo_client: AsyncMongoClient[dict[str, Any]], mongo_db: Db
) -> None:
    """The TTL monitor really deletes. It runs every ttlMonitorSleepSecs (60 s by default; set to
    1 s here, which takes effect after the sleep in progress), so this waits up to ~75 s."""
    previous = await mongo_client.admin.command({"getParameter": 1, "ttlMonitorSleepSecs": 1})
    await mongo_client.admin.command({"setParameter": 1, "ttlMonitorSleepSecs": 1})
    try:
        col = mongo_db[f"ttl_{uuid.uuid4().hex[:6]}"]
        await col.create_index("finished_at", expireAfterSeconds=1)
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        await col.insert_many([{"_id": "old", "finished_at": old}, {"_id": "running"}])

        async def only_running_left() -> bool:
            return [d["_id"] async for d in col.find({})] == ["running"]

        await eventually(
            only_running_left, timeout_s=75, interval_s=0.5, what="the TTL monitor's delete"
        )
    finally:
        await mongo_client.admin.command(
            {"setParameter": 1, "ttlMonitorSleepSecs": previous["ttlMonitorSleepSecs"]}
        )
