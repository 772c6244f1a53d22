"""Workflow documents built with the product's own model and mapper, triggers, executions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bench.loadgen import HttpPool
from shared.clock import to_ms
from shared.mappers import WORKFLOW_HANDLER
from shared.models import Action, ActionType, Trigger, TriggerType, Workflow

Doc = dict[str, Any]
INSERT_BATCH = 1000


def utcnow() -> datetime:
    return to_ms(datetime.now(UTC))


def log_action() -> Action:
    return Action(action_id=1, type=ActionType.LOG, message="bench")


def http_action(url: str) -> Action:
    return Action(action_id=1, type=ActionType.HTTP_REQUEST, url=url, method="GET")


def manual_doc(workflow_id: str, action: Action, now: datetime) -> Doc:
    """What POST /workflows stores for a manual workflow."""
    workflow = Workflow(
        workflow_id=workflow_id, created_at=now, trigger=Trigger(type=TriggerType.MANUAL),
        actions=[action],
    )
    return WORKFLOW_HANDLER.to_document(workflow)


def periodic_doc(
    workflow_id: str, *, interval_s: int, created_at: datetime, next_run: datetime
) -> Doc:
    """A periodic workflow with one `log` action whose next run is `next_run`."""
    trigger = Trigger(
        type=TriggerType.PERIODIC, interval=f"{interval_s}s", interval_ms=interval_s * 1000,
        next_run=to_ms(next_run),
    )
    workflow = Workflow(
        workflow_id=workflow_id, created_at=to_ms(created_at), trigger=trigger,
        actions=[log_action()],
    )
    return WORKFLOW_HANDLER.to_document(workflow)


async def insert(db: AsyncDatabase[Doc], docs: Iterable[Doc]) -> float:
    """Insert workflow documents in batches; the seconds it took."""
    started = time.perf_counter()
    batch: list[Doc] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == INSERT_BATCH:
            await db["workflows"].insert_many(batch, ordered=False)
            batch = []
    if batch:
        await db["workflows"].insert_many(batch, ordered=False)
    return time.perf_counter() - started


@dataclass
class Sent:
    workflow_id: str
    sent_at: float = 0.0       # time.time() just before the request
    answered_s: float = 0.0    # HTTP round trip
    status: int = 0


async def trigger(pool: HttpPool, sent: Sent) -> Sent:
    sent.sent_at = time.time()
    try:
        sent.status, sent.sent_at = await pool.post(f"/workflows/{sent.workflow_id}/trigger")
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
        sent.status = -1
    sent.answered_s = time.time() - sent.sent_at
    return sent


async def trigger_all(api: str, ids: list[str], *, concurrency: int) -> list[Sent]:
    """Trigger every workflow, `concurrency` requests in flight at a time."""
    pool = HttpPool(api, max_connections=concurrency)
    try:
        return list(await asyncio.gather(*(trigger(pool, Sent(i)) for i in ids)))
    finally:
        await pool.aclose()


async def trigger_at_rate(api: str, ids: list[str], *, rate: float) -> list[Sent]:
    """Open loop: request i leaves at start + i / rate whatever the earlier answers do."""
    pool = HttpPool(api, max_connections=1000)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    tasks = []
    try:
        for i, workflow_id in enumerate(ids):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(trigger(pool, Sent(workflow_id))))
        return list(await asyncio.gather(*tasks))
    finally:
        await pool.aclose()


async def executions_of(db: AsyncDatabase[Doc], ids: Iterable[str]) -> list[Doc]:
    """The executions of these workflows (timestamps and status only)."""
    wanted = set(ids)
    projection = {"_id": 0, "workflow_id": 1, "created_at": 1, "finished_at": 1, "status": 1}
    cursor = db["executions"].find({}, projection)
    return [doc async for doc in cursor if doc["workflow_id"] in wanted]


async def count_unreleased(db: AsyncDatabase[Doc]) -> int:
    """Workflows not idle (the collections hold one measurement's workflows at a time)."""
    return await db["workflows"].count_documents({"status": {"$ne": "active"}})


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()
