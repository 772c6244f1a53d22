"""MongoDB ExecutionRepository (see `shared.adapters.mongo`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.adapters.coalesce import Coalescer
from shared.adapters.mappers import LEGACY_RESULTS, EntityHandler
from shared.adapters.mongo_errors import raises_unavailable
from shared.domain.models import ActionStatus, Execution, ExecutionStatus

Doc = dict[str, Any]
_DUPLICATE_KEY = 11000


@raises_unavailable
class MongoExecutionRepository:
    """ExecutionRepository on the `executions` collection."""

    def __init__(self, collection: AsyncCollection[Doc], handler: EntityHandler[Execution], *,
                 coalesce_writes: bool = True):
        """`coalesce_writes`: concurrent inserts go as one `insert_many` (`coalesce`)."""
        self._col = collection
        self._handler = handler
        self._inserts: Coalescer[Doc, bool] | None = (
            Coalescer(self._insert_many) if coalesce_writes else None
        )

    async def get_or_create(self, execution: Execution) -> Execution:
        doc = await self._col.find_one_and_update(
            {"id": execution.id},
            {"$setOnInsert": self._handler.to_document(execution)},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        if doc is None:  # inserted: stored as given (no need to read it back and decode it)
            return execution
        stored = self._handler.from_document(doc)
        if LEGACY_RESULTS in doc:
            await self._upgrade(stored, len(doc[LEGACY_RESULTS]))
        return stored

    async def insert(self, execution: Execution) -> bool:
        doc = self._handler.to_document(execution)
        if self._inserts is not None:
            return await self._inserts.submit(doc)
        try:
            await self._col.insert_one(doc)
        except DuplicateKeyError:  # the unique index on `id`
            return False
        return True

    async def _insert_many(self, docs: list[Doc]) -> list[bool | Exception]:
        """Each document inserted, False where its id is stored already (the unique index)."""
        try:
            await self._col.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if exc.details.get("writeConcernErrors"):
                raise  # whether any of them is stored durably is not known
            results: list[bool | Exception] = [True] * len(docs)
            for error in exc.details.get("writeErrors", []):
                index = error["index"]
                results[index] = (
                    False if error.get("code") == _DUPLICATE_KEY
                    else BulkWriteError({"writeErrors": [error]})
                )
            return results
        return [True] * len(docs)

    async def _upgrade(self, stored: Execution, results: int) -> None:
        """Rewrite an old document (flat `executed_actions`) as the record it was read as, so
        that the keyed `$set`s of `save_attempt` extend it; only if its list is unchanged."""
        record = self._handler.to_document(stored)
        await self._col.update_one(
            {"id": stored.id, LEGACY_RESULTS: {"$size": results}},
            {"$set": {"actions": record["actions"], "attempt": record["attempt"]},
             "$unset": {LEGACY_RESULTS: "", "last_failed_action": ""}},
        )

    async def save_attempt(
        self, execution: Execution, *, changed_actions: Collection[str],
        expected_retries: int | None = None,
    ) -> bool:
        changes: Doc = {
            "status": execution.status.value, "retries": execution.retries,
            "attempt": execution.attempt, "finished_at": execution.finished_at,
            "reason": execution.reason,
            "waiting": None if execution.waiting is None else execution.waiting.model_dump(),
        }
        for key in changed_actions:  # keys follow the action name rule: safe path segments
            changes[f"actions.{key}"] = execution.actions[key].model_dump(mode="python")
        query: Doc = {"id": execution.id}
        if expected_retries is not None:
            query.update(status="pending", retries=expected_retries)
        # A compare-and-set on the attempt it continues; no document is needed back.
        return (await self._col.update_one(query, {"$set": changes})).matched_count == 1

    async def deliver_signal(self, execution_id: str, key: str, signal: str, payload: Any
                             ) -> bool:
        # `key` follows the action name rule: a safe field-path segment.
        wait = f"actions.{key}.wait"
        query: Doc = {
            "id": execution_id, "status": ExecutionStatus.PENDING.value,
            f"actions.{key}.status": ActionStatus.WAITING.value,
            f"{wait}.signal": signal, f"{wait}.delivered": False,
        }
        update = {"$set": {f"{wait}.delivered": True, f"{wait}.payload": payload}}
        return (await self._col.update_one(query, update)).matched_count == 1

    async def cancel(self, execution: Execution) -> Execution:
        stored = await self.get_or_create(execution)
        if stored.status != ExecutionStatus.PENDING:
            return stored
        settled = {
            "status": execution.status.value, "finished_at": execution.finished_at,
            "reason": execution.reason, "waiting": None,  # settled: it waits for nothing
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
        return await self.list_executions(
            workflow_id=workflow_id, status=status, before=before, limit=limit
        )

    async def list_executions(
        self, *, workflow_id: str | None, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> list[Execution]:
        query: Doc = {} if workflow_id is None else {"workflow_id": workflow_id}
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

    async def request_cancel(self, execution_id: str) -> bool:
        result = await self._col.update_one(
            {"id": execution_id, "status": ExecutionStatus.PENDING.value},
            {"$set": {"cancel_requested": True}},
        )
        return result.matched_count == 1

    async def reopen(self, execution_id: str, *, retries: int, reset_actions: Collection[str]
                     ) -> Execution | None:
        changes: Doc = {
            "status": ExecutionStatus.PENDING.value, "retries": retries, "finished_at": None,
            "reason": None, "cancel_requested": False, "waiting": None,
        }
        stored = await self.get(execution_id)
        for key in reset_actions:  # keys follow the action name rule: safe path segments
            if stored is not None and key in stored.actions:
                changes[f"actions.{key}.status"] = "pending"
        doc = await self._col.find_one_and_update(
            {"id": execution_id, "status": {"$in": ["failed", "cancelled"]}},
            {"$set": changes}, return_document=ReturnDocument.AFTER,
        )
        return self._handler.from_document(doc) if doc else None
