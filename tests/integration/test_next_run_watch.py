"""The change-stream wake-up source reports exactly the next_run values written."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.adapters.mongo_watch import MongoNextRunWatch
from tests.polling import eventually

pytestmark = pytest.mark.integration

Db = AsyncDatabase[dict[str, Any]]


async def test_reports_next_run_from_inserts_dotted_and_whole_updates(mongo_db: Db) -> None:
    col = mongo_db[f"workflows_{uuid.uuid4().hex[:6]}"]
    await col.insert_one({"workflow_id": "seed"})
    base = datetime.now(UTC).replace(microsecond=0)
    slots = [base + timedelta(seconds=s) for s in (10, 20, 30)]
    seen: list[datetime] = []
    watch = MongoNextRunWatch(col, max_await_ms=100)
    task = asyncio.create_task(watch.run(seen.append))
    try:

        probes = iter(range(1, 10_000))

        async def stream_open() -> bool:
            # A new value each time: an update that changes nothing makes no change event.
            probe = base - timedelta(seconds=next(probes))
            await col.update_one({"workflow_id": "seed"}, {"$set": {"trigger.next_run": probe}})
            return bool(seen)

        await eventually(stream_open, timeout_s=15, interval_s=0.2, what="the stream to open")
        seen.clear()
        await col.insert_one({"workflow_id": "a", "trigger": {"next_run": slots[0]}})
        await col.update_one({"workflow_id": "a"}, {"$set": {"status": "locked"}})  # no event
        await col.update_one({"workflow_id": "a"}, {"$set": {"trigger.next_run": None}})  # none
        claim = {"status": "scheduled", "trigger.next_run": base + timedelta(seconds=5)}
        await col.update_one({"workflow_id": "a"}, {"$set": claim})  # a claim's: none
        await col.update_one({"workflow_id": "a"}, {"$set": {"trigger.next_run": slots[1]}})
        await col.update_one({"workflow_id": "a"}, {"$set": {"trigger": {"next_run": slots[2]}}})

        def written() -> list[datetime]:
            # Events of late probes (all before `base`) may still arrive: leave them out.
            return [s.astimezone(UTC) for s in seen if s.astimezone(UTC) > base]

        async def three() -> bool:
            return len(written()) >= 3

        await eventually(three, timeout_s=15, what="three next_run events")
        assert written() == slots
        assert watch.available
    finally:
        watch.stop()
        await asyncio.wait_for(task, 15)


async def test_stop_ends_the_watch_within_its_max_await_under_load(mongo_db: Db) -> None:
    """`stop()` ends `run` without a cancellation (see the module), also while other
    operations of the same client contend for its connections."""
    col = mongo_db[f"workflows_{uuid.uuid4().hex[:6]}"]
    await col.insert_one({"workflow_id": "seed", "n": 0})
    busy = True

    async def load() -> None:
        while busy:
            await col.find_one_and_update({"workflow_id": "seed"}, {"$inc": {"n": 1}})

    loaders = [asyncio.create_task(load()) for _ in range(16)]
    try:
        for _ in range(5):
            watch = MongoNextRunWatch(col, max_await_ms=100)
            task = asyncio.create_task(watch.run(lambda _: None))
            await asyncio.sleep(0.2)  # a read in progress (no event to wait for: none written)
            watch.stop()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, "the watch did not stop"
            task.result()
    finally:
        busy = False
        await asyncio.gather(*loaders)
