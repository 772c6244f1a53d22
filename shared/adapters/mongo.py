"""MongoDB adapters (PyMongo's async API). Every state change is one filtered update,
so MongoDB's single-document atomicity makes it a compare-and-set."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.adapters.mappers import EntityHandler
from shared.adapters.mongo_executions import MongoExecutionRepository
from shared.adapters.mongo_indexes import ensure_indexes
from shared.domain.errors import Conflict
from shared.domain.models import Trigger, TriggerStatus, Workflow
from shared.domain.schedules import schedule_for
from shared.ports import DueWorkflow, Release, TriggerClaim

__all__ = ["MongoExecutionRepository", "MongoWorkflowRepository", "ensure_indexes"]

Doc = dict[str, Any]
_DUE_FIELDS = {
    "_id": 0, "workflow_id": 1, "trigger": 1, "created_at": 1, "scheduled_at": 1, "lock": 1,
}


def _due(doc: Mapping[str, Any]) -> DueWorkflow:
    trigger, lock = doc["trigger"], doc.get("lock") or {}
    status = trigger.get("status")
    return DueWorkflow(
        workflow_id=doc["workflow_id"],
        next_run=trigger.get("next_run"),
        trigger_status=TriggerStatus(status) if status else None,
        execution_id=trigger.get("execution_id"),
        schedule=schedule_for(Trigger.model_validate(trigger)),
        created_at=doc["created_at"],
        scheduled_at=doc.get("scheduled_at"),
        lock_token=lock.get("token"),
    )


def _idle_manual(workflow_id: str) -> Doc:
    return {
        "workflow_id": workflow_id, "archived_at": None, "status": "active",
        "trigger.type": "manual", "trigger.status": None,
    }


class MongoWorkflowRepository:
    """WorkflowRepository on the `workflows` collection."""

    def __init__(self, collection: AsyncCollection[Doc], handler: EntityHandler[Workflow]):
        self._col = collection
        self._handler = handler

    async def create(self, workflow: Workflow) -> None:
        try:
            await self._col.insert_one(self._handler.to_document(workflow))
        except DuplicateKeyError as exc:
            raise Conflict(f"workflow {workflow.workflow_id!r} already exists") from exc

    async def get(self, workflow_id: str) -> Workflow | None:
        doc = await self._col.find_one({"workflow_id": workflow_id})
        return self._handler.from_document(doc) if doc else None

    async def list_after(self, *, after_id: str | None, limit: int) -> list[Workflow]:
        query: Doc = {} if after_id is None else {"workflow_id": {"$gt": after_id}}
        cursor = self._col.find(query).sort("workflow_id", ASCENDING).limit(limit)
        return [self._handler.from_document(d) async for d in cursor]

    async def claim_for_trigger(self, claim: TriggerClaim) -> bool:
        fields: Doc = {
            "status": "scheduled", "trigger.status": "busy",
            "trigger.execution_id": claim.execution_id, "scheduled_at": claim.now,
        }
        base = _idle_manual(claim.workflow_id)
        if not claim.rate_limit:
            return await self._changed(base, {"$set": fields})
        # One round trip, rate window included: the filter admits a new window or a window
        # with room left; an update pipeline then opens the window or counts in it.
        window = claim.window_start
        query = {**base, "$or": [
            {"rate.window_start": {"$ne": window}}, {"rate.count": {"$lt": claim.rate_limit}},
        ]}
        same_window = {"$eq": ["$rate.window_start", {"$literal": window}]}
        count = {"$cond": [same_window, {"$add": ["$rate.count", 1]}, 1]}
        literal = {key: {"$literal": value} for key, value in fields.items()}
        pipeline = [{"$set": {**literal, "rate": {"window_start": {"$literal": window},
                                                  "count": count}}}]
        return await self._changed(query, pipeline)

    async def undo_trigger_claim(self, claim: TriggerClaim) -> bool:
        query = {
            "workflow_id": claim.workflow_id, "status": "scheduled",
            "trigger.execution_id": claim.execution_id,
        }
        fields = {
            "status": "active", "trigger.status": None, "trigger.execution_id": None,
            "scheduled_at": None,
        }
        in_window = {**query, "rate.window_start": claim.window_start}
        if await self._changed(in_window, {"$set": fields, "$inc": {"rate.count": -1}}):
            return True
        return await self._changed(query, {"$set": fields})

    async def archive(self, workflow_id: str, now: datetime) -> Workflow | None:
        archived = {"archived_at": now, "trigger.next_run": None}
        # Not running: also drop a dispatch or a retry that is waiting, so nothing stays
        # `scheduled` or `pending` on a workflow no runner will claim again. The execution
        # id stays, naming the execution to settle (`clear_archived_execution` drops it).
        idle = {**archived, "status": "active", "trigger.status": None}
        query = {"workflow_id": workflow_id, "archived_at": None}
        for changed, update in (({**query, "status": {"$ne": "locked"}}, idle), (query, archived)):
            doc = await self._col.find_one_and_update(
                changed, {"$set": update}, return_document=ReturnDocument.AFTER
            )
            if doc is not None:
                return self._handler.from_document(doc)
        return await self.get(workflow_id)

    async def find_archived_unsettled(self, *, limit: int) -> list[Workflow]:
        query = {
            "archived_at": {"$ne": None}, "status": {"$ne": "locked"},
            "trigger.execution_id": {"$ne": None},
        }
        cursor = self._col.find(query).sort("workflow_id", ASCENDING).limit(limit)
        return [self._handler.from_document(d) async for d in cursor]

    async def clear_archived_execution(self, workflow_id: str, execution_id: str) -> bool:
        query = {
            "workflow_id": workflow_id, "archived_at": {"$ne": None},
            "status": {"$ne": "locked"}, "trigger.execution_id": execution_id,
        }
        fields = {
            "status": "active", "scheduled_at": None, "trigger.status": None,
            "trigger.next_run": None, "trigger.execution_id": None,
            "trigger.interrupted_attempts": 0,
        }
        return await self._changed(query, {"$set": fields})

    async def find_due(
        self, now: datetime, *, after: DueWorkflow | None, limit: int
    ) -> list[DueWorkflow]:
        query: Doc = {"status": "active", "trigger.next_run": {"$lte": now}, "archived_at": None}
        if after is not None:
            query["$or"] = [
                {"trigger.next_run": {"$gt": after.next_run}},
                {"trigger.next_run": after.next_run, "workflow_id": {"$gt": after.workflow_id}},
            ]
        cursor = (
            self._col.find(query, _DUE_FIELDS)
            .sort([("trigger.next_run", ASCENDING), ("workflow_id", ASCENDING)])
            .limit(limit)
        )
        return [_due(d) async for d in cursor]

    async def claim_due(
        self, due: DueWorkflow, *, now: datetime, execution_id: str, next_run: datetime | None
    ) -> bool:
        query = {
            "workflow_id": due.workflow_id, "status": "active", "archived_at": None,
            "trigger.next_run": due.next_run,
            "trigger.status": due.trigger_status.value if due.trigger_status else None,
        }
        fields = {
            "status": "scheduled", "scheduled_at": now, "trigger.status": "busy",
            "trigger.execution_id": execution_id, "trigger.next_run": next_run,
        }
        return await self._changed(query, {"$set": fields})

    async def find_stuck_scheduled(
        self, older_than: datetime, *, limit: int
    ) -> list[DueWorkflow]:
        query = {"status": "scheduled", "archived_at": None, "scheduled_at": {"$lte": older_than}}
        cursor = self._col.find(query, _DUE_FIELDS).sort("workflow_id", ASCENDING).limit(limit)
        return [_due(d) async for d in cursor]

    async def refresh_scheduled(self, due: DueWorkflow, *, now: datetime) -> bool:
        query = {
            "workflow_id": due.workflow_id, "status": "scheduled",
            "scheduled_at": due.scheduled_at,
        }
        return await self._changed(query, {"$set": {"scheduled_at": now}})

    async def find_expired_locks(self, now: datetime, *, limit: int) -> list[DueWorkflow]:
        query = {"status": "locked", "lock.expires_at": {"$lte": now}}
        cursor = self._col.find(query, _DUE_FIELDS).sort("workflow_id", ASCENDING).limit(limit)
        return [_due(d) async for d in cursor]

    async def recover_lock(self, due: DueWorkflow, *, now: datetime) -> bool:
        query = {"workflow_id": due.workflow_id, "status": "locked", "lock.token": due.lock_token}
        update: Doc = {
            "$set": {"status": "scheduled", "scheduled_at": now, "lock": None},
            "$inc": {"trigger.interrupted_attempts": 1},
        }
        return await self._changed(query, update)

    async def earliest_next_run(self, after: datetime) -> datetime | None:
        query = {"archived_at": None, "trigger.next_run": {"$gt": after}}
        projection = {"_id": 0, "trigger.next_run": 1}
        doc = await self._col.find_one(query, projection, sort=[("trigger.next_run", ASCENDING)])
        return doc["trigger"]["next_run"] if doc else None

    async def lock(
        self, workflow_id: str, *, token: str, lease_until: datetime
    ) -> Workflow | None:
        doc = await self._col.find_one_and_update(
            {"workflow_id": workflow_id, "status": "scheduled", "archived_at": None},
            {"$set": {"status": "locked", "lock": {"token": token, "expires_at": lease_until}}},
            return_document=ReturnDocument.AFTER,
        )
        return self._handler.from_document(doc) if doc else None

    async def extend_lease(self, workflow_id: str, *, token: str, lease_until: datetime) -> bool:
        query = {"workflow_id": workflow_id, "lock.token": token}
        return await self._changed(query, {"$set": {"lock.expires_at": lease_until}})

    async def release(self, release: Release) -> bool:
        query = {
            "workflow_id": release.workflow_id, "status": "locked",
            "lock.token": release.lock_token,
        }
        status = release.trigger_status
        fields = {
            "status": "active", "lock": None, "scheduled_at": None,
            "trigger.status": status.value if status else None,
            "trigger.next_run": release.next_run,
            "trigger.execution_id": release.execution_id,
            "trigger.interrupted_attempts": release.interrupted_attempts,
        }
        return await self._changed(query, {"$set": fields})

    async def _changed(self, query: Doc, update: Doc | list[Doc]) -> bool:
        # A compare-and-set that needs no document back: update_one (the filter is served by
        # the unique workflow_id index). Every caller's update changes a field its filter
        # pins, so "matched" is "modified".
        result = await self._col.update_one(query, update)
        return result.matched_count == 1
