"""The indexes the MongoDB repositories rely on, and the executions' retention (TTL)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

Doc = dict[str, Any]
RETENTION_INDEX = "finished_at_ttl"
# The due and waking pages: status, then their order (next_run, workflow_id), so a page is
# read off the index in order, `limit` keys, instead of sorting every due workflow.
DUE_INDEX = [("status", ASCENDING), ("trigger.next_run", ASCENDING), ("workflow_id", ASCENDING)]
# Its prefix, the due index before; dropped once the new one exists (`_replace_due_index`).
SUPERSEDED_DUE_INDEX = "status_1_trigger.next_run_1"
# Indexes an earlier version created that a longer one now serves (as its prefix): each one
# only cost every insert and status change its upkeep.
SUPERSEDED_INDEXES = {"executions": ("workflow_id_1_status_1",)}
_INDEX_NOT_FOUND = 27


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    """Create the indexes the repositories rely on (idempotent)."""
    workflows, executions = db["workflows"], db["executions"]
    await workflows.create_index([("workflow_id", ASCENDING)], unique=True)
    await _replace_due_index(workflows)
    await workflows.create_index([("trigger.next_run", ASCENDING)])  # earliest_next_run
    # Archived workflows with an execution still to settle (null archived_at is outside).
    await workflows.create_index([("archived_at", ASCENDING), ("trigger.execution_id", ASCENDING)])
    await executions.create_index([("id", ASCENDING)], unique=True)
    # a workflow's executions newest first (the API's list and its cursor)
    await executions.create_index(
        [("workflow_id", ASCENDING), ("created_at", DESCENDING), ("id", DESCENDING)]
    )
    await _lifecycle_indexes(db)
    await _drop_superseded(executions)


async def _replace_due_index(workflows: AsyncCollection[Doc]) -> None:
    """Create DUE_INDEX, then drop the index it supersedes (one that a database set up by
    an earlier version has): every query it served, DUE_INDEX serves, and a claim then
    updates one index less. A scheduler of the earlier version still running gets the new
    one for its due query; at worst a find that was running on the old index fails once
    and its tick is retried."""
    await workflows.create_index(DUE_INDEX)
    await _drop_index(workflows, SUPERSEDED_DUE_INDEX)


async def _lifecycle_indexes(db: AsyncDatabase[Doc]) -> None:
    """SPEC 12: kept versions, and the list filters of GET /workflows and GET /executions."""
    workflows, executions = db["workflows"], db["executions"]
    await db["workflow_versions"].create_index(
        [("workflow_id", ASCENDING), ("version", ASCENDING)], unique=True
    )
    # Each filter of GET /workflows, then its order by id (archived_at has one already).
    for field in ("status", "trigger.type", "paused_at", "archived_at"):
        await workflows.create_index([(field, ASCENDING), ("workflow_id", ASCENDING)])
    newest_first = [("created_at", DESCENDING), ("id", DESCENDING)]
    await executions.create_index(newest_first)
    await executions.create_index([("status", ASCENDING), *newest_first])
    await executions.create_index([("workflow_id", ASCENDING), ("status", ASCENDING),
                                   *newest_first])


async def _drop_superseded(executions: AsyncCollection[Doc]) -> None:
    for name in SUPERSEDED_INDEXES["executions"]:
        await _drop_index(executions, name)


async def apply_retention(executions: AsyncCollection[Doc], retention_s: int | None) -> None:
    """Make the TTL index on `finished_at` match `retention_s` (None: no index, keep all).

    MongoDB's TTL monitor then deletes, about once a minute, every execution finished more
    than `retention_s` ago; unfinished ones (`finished_at` null) are never expired.
    """
    existing = (await executions.index_information()).get(RETENTION_INDEX)
    if retention_s is None:
        if existing is not None:
            await _drop_index(executions, RETENTION_INDEX)
        return
    if existing is None:
        await executions.create_index(
            [("finished_at", ASCENDING)], name=RETENTION_INDEX, expireAfterSeconds=retention_s
        )
    elif existing.get("expireAfterSeconds") != retention_s:
        index = {"name": RETENTION_INDEX, "expireAfterSeconds": retention_s}
        await executions.database.command("collMod", executions.name, index=index)


async def _drop_index(collection: AsyncCollection[Doc], name: str) -> None:
    try:
        await collection.drop_index(name)
    except OperationFailure as exc:  # absent, or another replica dropped it first
        if exc.code != _INDEX_NOT_FOUND:
            raise
