"""The indexes the MongoDB repositories rely on."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    """Create the indexes the repositories rely on (idempotent)."""
    workflows, executions = db["workflows"], db["executions"]
    await workflows.create_index([("workflow_id", ASCENDING)], unique=True)
    await workflows.create_index([("status", ASCENDING), ("trigger.next_run", ASCENDING)])
    # Archived workflows with an execution still to settle (null archived_at is outside).
    await workflows.create_index([("archived_at", ASCENDING), ("trigger.execution_id", ASCENDING)])
    await executions.create_index([("id", ASCENDING)], unique=True)
    await executions.create_index([("workflow_id", ASCENDING), ("status", ASCENDING)])
