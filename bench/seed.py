"""Documents built with the product's own models and mappers, inserted in batches."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.actions import DelayAction, HttpRequestAction, LogAction
from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.domain.execution_record import from_results
from shared.domain.models import (
    Action,
    ActionResult,
    ActionResultStatus,
    Execution,
    ExecutionStatus,
    Trigger,
    TriggerType,
    Workflow,
)
from shared.domain.timing import to_ms

Doc = dict[str, Any]
INSERT_BATCH = 1000


def utcnow() -> datetime:
    return to_ms(datetime.now(UTC))


def log_action() -> Action:
    return LogAction(action_id=1, message="bench")


def http_action(url: str) -> Action:
    return HttpRequestAction(action_id=1, url=url, method="GET")


def fan_out_actions(url: str, width: int = 8) -> list[Action]:
    """A root `log`, then `width` GETs of `url` in parallel, then a `log` joining them."""
    middle = [f"get-{i}" for i in range(1, width + 1)]
    return [
        LogAction(action_id=1, name="root", depends_on=[], message="bench fan-out"),
        *(HttpRequestAction(action_id=i + 2, name=name, depends_on=["root"], url=url,
                            method="GET") for i, name in enumerate(middle)),
        LogAction(action_id=width + 2, name="join", depends_on=middle, message="bench join"),
    ]


def delay_action(duration: str) -> Action:
    return DelayAction(action_id=1, name="wait", duration=duration)


def manual_doc(workflow_id: str, action: Action | list[Action], now: datetime) -> Doc:
    """What POST /workflows stores for a manual workflow (one action, or a graph of them)."""
    workflow = Workflow(
        workflow_id=workflow_id, created_at=now, trigger=Trigger(type=TriggerType.MANUAL),
        actions=action if isinstance(action, list) else [action],
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


async def insert(db: AsyncDatabase[Doc], docs: Iterable[Doc], *, collection: str = "workflows",
                 batch_size: int = INSERT_BATCH) -> float:
    """Insert documents with insert_many in batches; the seconds it took."""
    started = time.perf_counter()
    batch: list[Doc] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == batch_size:
            await db[collection].insert_many(batch, ordered=False)
            batch = []
    if batch:
        await db[collection].insert_many(batch, ordered=False)
    return time.perf_counter() - started


def execution_doc(execution_id: str, workflow_id: str, created_at: datetime) -> Doc:
    """A finished single-action execution, as the runner stores it."""
    execution = Execution(
        id=execution_id, workflow_id=workflow_id, status=ExecutionStatus.OK,
        created_at=to_ms(created_at), finished_at=to_ms(created_at + timedelta(milliseconds=3)),
        retries=4, total_actions=1,
        **from_results([ActionResult(action_id=1, status=ActionResultStatus.OK,
                                     logs="stdout: bench")]),
    )
    return EXECUTION_HANDLER.to_document(execution)


async def executions_of(db: AsyncDatabase[Doc], ids: Iterable[str]) -> list[Doc]:
    """The executions of these workflows (timestamps and status only)."""
    wanted = sorted(set(ids))
    projection = {"_id": 0, "workflow_id": 1, "created_at": 1, "finished_at": 1, "status": 1}
    found: list[Doc] = []
    for i in range(0, len(wanted), 5000):
        cursor = db["executions"].find({"workflow_id": {"$in": wanted[i:i + 5000]}}, projection)
        found += [doc async for doc in cursor]
    return found


async def count_unreleased(db: AsyncDatabase[Doc]) -> int:
    """Workflows not idle (the collections hold one measurement's workflows at a time)."""
    return await db["workflows"].count_documents({"status": {"$ne": "active"}})


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()
