"""Foundation: the MongoDB server's guarantees the system relies on.

The system's correctness rests on single-document atomicity: ``find_one_and_update`` with a
filter is a compare-and-set. The contract test below runs N concurrent compare-and-sets on one
document and expects exactly one winner, and names the server it ran against.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect, DuplicateKeyError

from tests.conftest import private_deps_env, run_start_deps

if TYPE_CHECKING:
    from tests.conftest import Infra

pytestmark = pytest.mark.integration

CONCURRENCY = 50
ROUNDS = 20

Db = AsyncDatabase[dict[str, Any]]


async def test_unique_index_violation_raises_duplicate_key_error(mongo_db: Db) -> None:
    col = mongo_db[f"uniq_{uuid.uuid4().hex[:6]}"]
    await col.create_index("name", unique=True)
    await col.create_index([("workflow_id", 1), ("run", 1)], unique=True, name="wf_run")
    await col.insert_one({"name": "a", "workflow_id": "w1", "run": 1})
    with pytest.raises(DuplicateKeyError) as single:
        await col.insert_one({"name": "a", "workflow_id": "w2", "run": 1})
    assert single.value.code == 11000
    with pytest.raises(DuplicateKeyError):
        await col.insert_one({"name": "b", "workflow_id": "w1", "run": 1})  # compound
    # an upsert that would create a duplicate is rejected too
    with pytest.raises(DuplicateKeyError):
        await col.update_one({"name": "zz"}, {"$set": {"workflow_id": "w1", "run": 1}}, upsert=True)
    assert await col.count_documents({}) == 1


async def _server_name(mongo_client: AsyncMongoClient[dict[str, Any]], infra: Infra) -> str:
    info = await mongo_client.admin.command("buildInfo")
    status = await mongo_client.admin.command("serverStatus")
    return (
        f"{infra.mongo_server} (buildInfo.version={info.get('version')}, "
        f"gitVersion={info.get('gitVersion')!s:.60}, serverStatus.process={status.get('process')})"
    )


async def test_atomicity_contract_concurrent_compare_and_set_has_one_winner(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongo_db: Db,
    infra: Infra,
    record_property: Any,
) -> None:
    server = await _server_name(mongo_client, infra)
    print(f"\natomicity contract against: {server}")
    record_property("db_server", server)
    col = mongo_db[f"cas_{uuid.uuid4().hex[:6]}"]

    # Open the connections first so that the 50 updates really are in flight together.
    await asyncio.gather(*(mongo_client.admin.command("ping") for _ in range(CONCURRENCY)))

    async def claim(doc_id: int, worker: int) -> dict[str, Any] | None:
        return await col.find_one_and_update(
            {"_id": doc_id, "status": "active"},
            {"$set": {"status": "locked", "owner": worker}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )

    for round_no in range(ROUNDS):
        await col.insert_one({"_id": round_no, "status": "active", "version": 0})
        results = await asyncio.gather(*(claim(round_no, w) for w in range(CONCURRENCY)))
        winners = [r for r in results if r is not None]
        final = await col.find_one({"_id": round_no})
        assert len(winners) == 1, (
            f"round {round_no}: {len(winners)} of {CONCURRENCY} concurrent compare-and-sets "
            f"won on {server}: {winners}"
        )
        assert final == winners[0], f"round {round_no} on {server}: {final} != {winners[0]}"
        assert final["version"] == 1 and final["status"] == "locked", server

    # No lost updates either: 50 concurrent $inc on one document add up.
    await col.insert_one({"_id": "counter", "n": 0})
    await asyncio.gather(
        *(col.update_one({"_id": "counter"}, {"$inc": {"n": 1}}) for _ in range(CONCURRENCY))
    )
    counter = await col.find_one({"_id": "counter"})
    assert counter is not None and counter["n"] == CONCURRENCY, f"lost updates on {server}"


async def reconnect(client: AsyncMongoClient[dict[str, Any]]) -> None:
    """After a server restart the pooled connections are dead: the first command on one fails
    (AutoReconnect) and resets the pool; ping until a command goes through."""
    for _ in range(5):
        try:
            await client.admin.command("ping")
            return
        except AutoReconnect:
            continue
    await client.admin.command("ping")


def _pid(deps_dir: Path) -> int | None:
    pid_file = deps_dir / "run" / "mongo.pid"
    return int(pid_file.read_text().strip()) if pid_file.is_file() else None


async def _write_restart_read(
    url: str, restart: Callable[[], object], pid_of: Callable[[], int | None] | None
) -> None:
    """Write a document (and a unique index), restart the server, read it back."""
    db_name = f"restart_{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().hex
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=15_000
    )
    try:
        col = client[db_name]["survivor"]
        await col.create_index("marker", unique=True)
        await col.insert_one({"marker": marker, "payload": {"steps": [1, 2, 3]}})
        pid_before = pid_of() if pid_of else None

        await asyncio.to_thread(restart)

        if pid_of:
            pid_after = pid_of()
            assert pid_after is not None and pid_after != pid_before, "server was not restarted"
        await reconnect(client)
        fresh: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, serverSelectionTimeoutMS=15_000
        )
        try:
            doc = await fresh[db_name]["survivor"].find_one({"marker": marker})
        finally:
            await fresh.close()
        assert doc is not None and doc["payload"] == {"steps": [1, 2, 3]}, "document lost"
        assert await col.count_documents({"marker": marker}) == 1
        with pytest.raises(DuplicateKeyError):  # the unique index survived as well
            await col.insert_one({"marker": marker})
        await client.drop_database(db_name)
    finally:
        await client.close()


async def test_document_survives_db_server_restart(tmp_path: Path) -> None:
    """Local mode's server (start-deps.sh: a real mongod, single-node replica set) keeps a
    document, a unique index and its replica set configuration across a restart. Proven on a
    private instance (own DEPS_DIR and port, same installed mongod), so the server the other
    tests share is never restarted under them."""
    private = tmp_path / "deps"
    env = private_deps_env(private)
    url = f"mongodb://127.0.0.1:{env['MONGO_PORT']}/?replicaSet=rs0"
    try:
        await asyncio.to_thread(run_start_deps, "up", "mongo", env=env)
        await _write_restart_read(
            url, lambda: run_start_deps("restart", "mongo", env=env), lambda: _pid(private)
        )
        init_log = (private / "logs" / "mongod-init.log").read_text()
        assert init_log.count("initiated with member") == 1, init_log  # once, not per start
    finally:
        await asyncio.to_thread(run_start_deps, "down", "mongo", env=env)
