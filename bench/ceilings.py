"""Raw ceilings of the infrastructure, measured in the same run as our figures."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from bench.infra import Context
from bench.probes import Window, percentiles
from bench.seed import insert, log_action, manual_doc, utcnow
from shared.adapters.kafka import ensure_topic, make_producer
from shared.adapters.mongo import ensure_indexes

DOCS_PER_WORKER = 8
PARTITIONS = 6


async def run(ctx: Context) -> dict[str, Any]:
    return {"db": await db_ceiling(ctx), "kafka": await kafka_ceiling(ctx)}


async def db_ceiling(ctx: Context) -> dict[str, Any]:
    """find_one_and_update compare-and-sets on workflow documents, shaped and indexed like
    ours, flipping `status` scheduled <-> locked as the runner's claim does."""
    db = ctx.database(f"bench_ceiling_{uuid.uuid4().hex[:6]}")
    await ensure_indexes(db)
    workers = ctx.concurrency
    now = utcnow()
    ids = [f"cas-{i:05d}" for i in range(workers * DOCS_PER_WORKER)]
    await insert(db, ({**manual_doc(i, log_action(), now), "status": "scheduled"} for i in ids))
    col = db["workflows"]
    window = Window()
    measure = ctx.measure({})
    concurrent = await cas_run(col, ids, workers, ctx.sizes.db_ceiling_s)
    fam_cpu = measure.done(concurrent["ops"])["cpu_ms_per"]
    single = await cas_run(col, ids, 1, ctx.sizes.db_latency_s)
    measure = ctx.measure({})
    updates = await cas_run(col, ids, workers, ctx.sizes.db_ceiling_s, op="update_one")
    update_cpu = measure.done(updates["ops"])["cpu_ms_per"]
    single_updates = await cas_run(col, ids, 1, ctx.sizes.db_latency_s, op="update_one")
    return {
        # CPU ms per command at the runner's concurrency: "bench" is PyMongo's client side
        # (this process runs nothing else meanwhile), "mongod" the server's.
        "cpu_ms_per_command": {"find_one_and_update": _cpu_pair(fam_cpu),
                               "update_one": _cpu_pair(update_cpu)},
        "concurrency": workers, "ops": concurrent["ops"], "ops_per_s": concurrent["ops_per_s"],
        "latency_ms": concurrent["latency_ms"], "single_ops_per_s": single["ops_per_s"],
        "single_latency_ms": single["latency_ms"], "seconds": concurrent["seconds"],
        "update_one_ops_per_s": updates["ops_per_s"], "update_one_latency_ms":
        updates["latency_ms"], "update_one_single_ops_per_s": single_updates["ops_per_s"],
        "update_one_single_latency_ms": single_updates["latency_ms"],
        "documents": len(ids), "machine": window.close(),
    }


def _cpu_pair(per: dict[str, float]) -> dict[str, float | None]:
    return {"client": per.get("bench"), "mongod": per.get("mongod")}


async def cas_run(
    col: AsyncCollection[dict[str, Any]], ids: list[str], workers: int, duration_s: float,
    *, idle: str = "scheduled", op: str = "find_one_and_update",
) -> dict[str, Any]:
    """Workers flip their own documents idle <-> locked with find_one_and_update (filter
    on workflow_id, status and archived_at, like the runner's claim) or update_one (like
    its release); all idle at the end."""
    workers = max(1, min(workers, len(ids)))
    latencies: list[float] = []
    lease = utcnow() + timedelta(minutes=30)
    back = {"$set": {"status": idle, "lock": None}}
    await col.update_many({"status": "locked"}, back)

    async def worker(w: int) -> int:
        mine = ids[w::workers]
        state = {i: idle for i in mine}
        done = 0
        while time.perf_counter() < stop:
            workflow_id = mine[done % len(mine)]
            current = state[workflow_id]
            target = "locked" if current == idle else idle
            started = time.perf_counter()
            query = {"workflow_id": workflow_id, "status": current, "archived_at": None}
            update = {"$set": {"status": target, "lock": {"token": "bench", "expires_at": lease}}}
            if op == "update_one":
                won = (await col.update_one(query, update)).matched_count == 1
            else:
                won = await col.find_one_and_update(
                    query, update, return_document=ReturnDocument.AFTER) is not None
            latencies.append((time.perf_counter() - started) * 1000)
            if not won:
                raise RuntimeError(f"compare-and-set lost on {workflow_id}: not ours?")
            state[workflow_id] = target
            done += 1
        return done

    begun = time.perf_counter()
    stop = begun + duration_s
    ops = sum(await asyncio.gather(*(worker(w) for w in range(workers))))
    elapsed = time.perf_counter() - begun
    await col.update_many({"status": "locked"}, back)
    return {
        "ops": ops, "seconds": round(elapsed, 2), "ops_per_s": round(ops / elapsed, 1),
        "latency_ms": percentiles(latencies),
    }


async def kafka_ceiling(ctx: Context) -> dict[str, Any]:
    """Pipelined produce -> consume with our producer (make_producer) and our consumer's
    fetch settings; then one-at-a-time round trips."""
    topic = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    ctx.topics.add(topic)
    await ensure_topic(ctx.kafka_url, topic, PARTITIONS)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=ctx.kafka_url, group_id=f"bench-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False, auto_offset_reset="latest", fetch_max_wait_ms=200,
        max_poll_records=500,
    )
    producer = make_producer(ctx.kafka_url)
    await consumer.start()
    await producer.start()
    try:
        await _until_assigned(consumer)
        bulk = await _pipelined(producer, consumer, topic, ctx.sizes.kafka_messages)
        pings = await _pings(producer, consumer, topic, ctx.sizes.kafka_pings)
    finally:
        await producer.stop()
        await consumer.stop()
    idempotent = getattr(producer, "_txn_manager", None) is not None
    return {"partitions": PARTITIONS, "producer": "ours (shared.adapters.kafka.make_producer): "
            f"acks=all, {'idempotent' if idempotent else 'not idempotent'}, linger 0",
            **bulk, **pings}


async def _until_assigned(consumer: AIOKafkaConsumer) -> None:
    deadline = time.monotonic() + 30
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError("the ceiling consumer got no partitions")
        await consumer.getmany(timeout_ms=100)
    for tp in consumer.assignment():
        await consumer.position(tp)


async def _pipelined(producer: Any, consumer: AIOKafkaConsumer, topic: str, n: int) -> dict:
    payload = b'{"workflow_id":"bench-ceiling-0000000"}'
    received = 0

    async def consume() -> float:
        nonlocal received
        while received < n:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            received += sum(len(records) for records in batches.values())
        return time.perf_counter()

    window = Window()
    reader = asyncio.create_task(consume())
    started = time.perf_counter()
    futures = [await producer.send(topic, payload, key=str(i).encode()) for i in range(n)]
    await asyncio.gather(*futures)
    produced = time.perf_counter()
    consumed = await asyncio.wait_for(reader, timeout=120)
    return {
        "messages": n,
        "produce_msgs_per_s": round(n / (produced - started), 1),
        "produce_consume_msgs_per_s": round(n / (consumed - started), 1),
        "machine": window.close(),
    }


async def _pings(producer: Any, consumer: AIOKafkaConsumer, topic: str, n: int) -> dict:
    """One message at a time: produce acknowledged, and produce -> consumed."""
    acked, delivered = [], []
    for i in range(n):
        started = time.perf_counter()
        await producer.send_and_wait(topic, b'{"workflow_id":"ping"}', key=str(i).encode())
        acked.append((time.perf_counter() - started) * 1000)
        got = 0
        while not got:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10)
            got = sum(len(records) for records in batches.values())
        delivered.append((time.perf_counter() - started) * 1000)
    return {"ack_ms": percentiles(acked), "produce_to_consume_ms": percentiles(delivered)}
