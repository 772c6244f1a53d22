"""A change stream (what a scheduler woken by changes would watch) survives the kill -9 of the
primary: the driver resumes it from its resume token on the new primary, and every insert
acknowledged with w:majority is seen exactly once, in order."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient, WriteConcern
from pymongo.errors import DuplicateKeyError, PyMongoError

from tests.cluster.cluster import Cluster
from tests.cluster.conftest import FIGURES
from tests.polling import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


async def test_change_stream_resumes_after_the_primary_is_killed(
    cluster: Cluster, cluster_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    db = cluster_client[f"stream_{uuid.uuid4().hex[:8]}"]
    col = db.get_collection("events", write_concern=WriteConcern("majority"))
    await col.insert_one({"_id": -1})  # the collection exists before the stream opens
    acknowledged: list[int] = []
    seen: list[int] = []
    seen_at: list[float] = []
    stop = asyncio.Event()

    async def write() -> None:
        i = 0
        while not stop.is_set():
            while True:  # the same document until it is in, as a client retrying would
                try:
                    await col.insert_one({"_id": i})
                    break
                except DuplicateKeyError:
                    break  # an attempt whose answer was lost had inserted it
                except PyMongoError:
                    await asyncio.sleep(0.1)  # client retry backoff
            acknowledged.append(i)
            i += 1
            await asyncio.sleep(0.02)  # write rate

    async def read() -> None:
        async with await col.watch(max_await_time_ms=200) as stream:
            while not stop.is_set() or len(seen) < len(acknowledged):
                change = await stream.try_next()
                if change is not None and change["operationType"] == "insert":
                    seen.append(change["documentKey"]["_id"])
                    seen_at.append(time.monotonic())

    reader = asyncio.create_task(read())
    writer = asyncio.create_task(write())
    try:
        async def some(n: int) -> bool:
            return len(seen) >= n

        await eventually(lambda: some(50), timeout_s=60, what="50 changes seen")
        primary = await cluster.mongo_primary()
        fault = await cluster.kill9(primary)
        before = len(seen)
        await eventually(lambda: some(before + 50), timeout_s=90, interval_s=0.1,
                         what="50 more changes after the kill")
        stop.set()
        await writer
        await asyncio.wait_for(reader, 60)
    finally:
        stop.set()
        for task in (reader, writer):
            task.cancel()
        await asyncio.gather(reader, writer, return_exceptions=True)
        await cluster.up()
        await cluster_client.drop_database(db.name)

    around = [fault.at] + [t for t in seen_at if t > fault.at]
    paused_s = max(b - a for a, b in zip(around, around[1:], strict=False))
    differ = next((i for i, (a, b) in enumerate(zip(seen, acknowledged, strict=False))
                   if a != b), None)
    assert seen == acknowledged, (
        f"stream saw {len(seen)} inserts, {len(acknowledged)} acknowledged; first difference "
        f"at {differ}")
    FIGURES.append({"scenario": "change stream across kill -9 of the primary",
                    "member": primary, "inserts": len(acknowledged),
                    "longest_pause_in_changes_s": round(paused_s, 1)})
    print(f"\n[cluster] change stream: {len(acknowledged)} inserts seen once each, in order; "
          f"longest pause in changes {paused_s:.1f}s after the kill of {primary}")
