"""MongoDB ExecutionRepository (see `shared.adapters.mongo`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from shared.adapters.mappers import EntityHandler
from shared.adapters.mongo_errors import raises_unavailable
from shared.domain.models import Execution, ExecutionStatus

Doc = dict[str, Any]


@raises_unavailable
class MongoExecutionRepository:
    """ExecutionRepository on the `executions` collection."""

    def __init__(self, collection: AsyncCollection[Doc], handler: EntityHandler[Execution]):
        self._col = collection
        self._handler = handler

    async def get_or_create(self, execution: Execution) -> Execution:
        doc = await self._col.find_one_and_update(
            {"id": execution.id},
            {"$setOnInsert": self._handler.to_document(execution)},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None, "an upsert returns the document"
        return self._handler.from_document(doc)

    async def save_attempt(
        self, execution: Execution, *, new_results_from: int, expected_retries: int | None = None
    ) -> bool:
        new_results = [r.model_dump(mode="python") for r in
                       execution.executed_actions[new_results_from:]]
        update: Doc = {"$set": {
            "status": execution.status.value, "retries": execution.retries,
            "last_failed_action": execution.last_failed_action,
            "finished_at": execution.finished_at, "reason": execution.reason,
        }}
        if new_results:
            update["$push"] = {"executed_actions": {"$each": new_results}}
        query: Doc = {"id": execution.id}
        if expected_retries is not None:
            query.update(status="pending", retries=expected_retries)
        # A compare-and-set on the attempt it continues; no document is needed back.
        return (await self._col.update_one(query, update)).matched_count == 1

    async def cancel(self, execution: Execution) -> Execution:
        stored = await self.get_or_create(execution)
        if stored.status != ExecutionStatus.PENDING:
            return stored
        settled = {
            "status": execution.status.value, "finished_at": execution.finished_at,
            "reason": execution.reason,
        }
        doc = await self._col.find_one_and_update(
            {"id": execution.id, "status": "pending"}, {"$set": settled},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # settled by its runner in between
            return await self.get(execution.id) or stored
        return self._handler.from_document(doc)

    async def get(self, execution_id: str) -> Execution | None:
        doc = await self._col.find_one({"id": execution_id})
        return self._handler.from_document(doc) if doc else None

    async def list_for_workflow(
        self, workflow_id: str, *, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> list[Execution]:
        query: Doc = {"workflow_id": workflow_id}
        if status is not None:
            query["status"] = status.value
        if before is not None:
            created_at, execution_id = before
            query["$or"] = [
                {"created_at": {"$lt": created_at}},
                {"created_at": created_at, "id": {"$lt": execution_id}},
            ]
        cursor = (
            self._col.find(query)
            .sort([("created_at", DESCENDING), ("id", DESCENDING)])
            .limit(limit)
        )
        return [self._handler.from_document(d) async for d in cursor]
