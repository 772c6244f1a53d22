"""`python -m bench.claim_statements`: mongod's CPU per due claim, by statement shape.

N periodic workflows all due, claimed in pages of 500 with the real `CLAIM_DUE` transition:
as a `bulk_write` of one `UpdateOne` per workflow (the shape before `mongo_batch`) and as
the one `update_many` the adapter sends now; each with and without the scheduler's
next-run change stream open. Reports mongod's CPU (user + system, from /proc) per claim and
claims/s. Needs `DATABASE_URL` (a replica set, for the stream); uses its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import psutil
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from bench.seed import insert, periodic_doc, utcnow
from shared.adapters.mongo import ensure_indexes
from shared.adapters.mongo_batch import batched_statement
from shared.adapters.mongo_lifecycle import to_filter, to_update
from shared.adapters.mongo_watch import NEXT_RUN_PIPELINE
from shared.domain.lifecycle.fields import WORKFLOW_ID
from shared.domain.lifecycle.transitions import CLAIM_DUE

Doc = dict[str, Any]
DATABASE = "bench_claim_statements"


def mongod_cpu_s() -> float:
    """CPU seconds mongod has used so far (the first process named mongod)."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "mongod":
            times = process.cpu_times()
            return float(times.user + times.system)
    raise RuntimeError("no mongod process on this machine")


@contextlib.asynccontextmanager
async def change_stream(db: AsyncDatabase[Doc], on: bool) -> AsyncIterator[None]:
    """The scheduler's next-run change stream, read while the block runs (when `on`)."""
    if not on:
        yield
        return
    stop = asyncio.Event()

    async def read() -> None:
        async with await db.workflows.watch(NEXT_RUN_PIPELINE, max_await_time_ms=100) as s:
            while not stop.is_set():
                await s.try_next()

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.3)  # the stream is open before the first claim
    try:
        yield
    finally:
        stop.set()
        await reader


def calls(ids: list[str], due: datetime, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    return [(workflow_id, {
        "observed_next_run": due, "observed_trigger_status": None, "now": now,
        "execution_id": str(uuid.uuid4()), "next_run": due + timedelta(hours=1),
        "claim_id": uuid.uuid4().hex, "fresh_execution": True,
    }) for workflow_id in ids]


async def one_round(db: AsyncDatabase[Doc], shape: str, stream: bool, n: int, page: int
                    ) -> dict[str, Any]:
    await db.workflows.drop()
    await ensure_indexes(db)
    due = utcnow()
    created = due - timedelta(hours=1)
    await insert(db, (periodic_doc(f"w-{i:06d}", interval_s=3600, created_at=created,
                                   next_run=due) for i in range(n)))
    ids = [f"w-{i:06d}" for i in range(n)]
    async with change_stream(db, stream):
        cpu_before, started = mongod_cpu_s(), time.perf_counter()
        for start in range(0, n, page):
            batch = calls(ids[start:start + page], due, utcnow())
            if shape == "bulk_write":
                writes = [UpdateOne({WORKFLOW_ID: w, **to_filter(CLAIM_DUE.requires, p)},
                                    to_update(CLAIM_DUE.update, p)) for w, p in batch]
                matched = (await db.workflows.bulk_write(writes, ordered=False)).matched_count
            else:
                matched = (await db.workflows.update_many(
                    *batched_statement(CLAIM_DUE, batch))).matched_count
            assert matched == len(batch), (shape, matched)
        wall_s, cpu_s = time.perf_counter() - started, mongod_cpu_s() - cpu_before
    return {"shape": shape, "stream": stream, "claims_per_s": round(n / wall_s),
            "mongod_ms_per_claim": round(cpu_s * 1000 / n, 3)}


async def main(n: int, page: int, rounds: int) -> None:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(os.environ["DATABASE_URL"])
    try:
        db = client[DATABASE]
        print("| shape | change stream open | claims/s | mongod CPU ms / claim |")
        print("| --- | --- | --- | --- |")
        for _ in range(rounds):
            for shape in ("bulk_write", "update_many"):
                for stream in (False, True):
                    row = await one_round(db, shape, stream, n, page)
                    print(f"| {row['shape']} | {'yes' if stream else 'no'} | "
                          f"{row['claims_per_s']:,} | {row['mongod_ms_per_claim']} |")
        await client.drop_database(DATABASE)
    finally:
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.claim_statements", description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="due workflows per round")
    parser.add_argument("--page", type=int, default=500, help="claims per statement")
    parser.add_argument("--rounds", type=int, default=2, help="times each shape runs")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.page, args.rounds))
