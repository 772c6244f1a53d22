"""MongoDB adapters (PyMongo's async API). Every state change is one filtered update,
so MongoDB's single-document atomicity makes it a compare-and-set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReadPreference, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import DuplicateKeyError, PyMongoError, ServerSelectionTimeoutError

from shared.adapters.mappers import EntityHandler
from shared.adapters.mongo_batch import batched_statement
from shared.adapters.mongo_errors import is_transient, raises_unavailable
from shared.adapters.mongo_executions import MongoExecutionRepository
from shared.adapters.mongo_indexes import ensure_indexes
from shared.adapters.mongo_lifecycle import to_filter, to_query_filter, to_update
from shared.adapters.mongo_versions import MongoVersions
from shared.adapters.workflow_roles import Call, WorkflowRoles
from shared.domain.errors import Conflict
from shared.domain.lifecycle.evaluate import get_path
from shared.domain.lifecycle.fields import CLAIM_ID, NEXT_RUN, WORKFLOW_ID
from shared.domain.lifecycle.language import (
    Query,
    Transition,
    check_params,
    stamp_param,
    stamped_value,
)
from shared.domain.lifecycle.listing import listing
from shared.domain.models import Trigger, TriggerStatus, Workflow
from shared.domain.schedules import schedule_for
from shared.ports import DueWorkflow, WorkflowFilter

__all__ = [
    "MongoExecutionRepository", "MongoVersions", "MongoWorkflowRepository", "ensure_indexes",
]

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


@raises_unavailable
class MongoWorkflowRepository(WorkflowRoles):
    """Every workflow role (`shared.ports.WorkflowRepository`) on the `workflows` collection.

    A transition's precondition and update become the filter and the update document (or
    pipeline) of one `update_one`/`find_one_and_update` on the unique `workflow_id` index.
    """

    def __init__(self, collection: AsyncCollection[Doc], handler: EntityHandler[Workflow], *,
                 coalesce_writes: bool = True):
        """`coalesce_writes`: concurrent locks and releases go as one batch each."""
        self._col = collection
        self._handler = handler
        if coalesce_writes:
            self._coalesce_writes()

    async def create(self, workflow: Workflow) -> None:
        try:
            await self._col.insert_one(self._handler.to_document(workflow))
        except DuplicateKeyError as exc:
            raise Conflict(f"workflow {workflow.workflow_id!r} already exists") from exc

    async def get(self, workflow_id: str) -> Workflow | None:
        doc = await self._col.find_one({WORKFLOW_ID: workflow_id})
        return self._handler.from_document(doc) if doc else None

    async def list_after(self, *, after_id: str | None, limit: int,
                         filters: WorkflowFilter | None = None) -> list[Workflow]:
        query = listing(after_id=after_id, filters=filters)
        return await self._select(query, {}, limit)

    async def apply(self, transition: Transition, workflow_id: str,
                    params: Mapping[str, Any]) -> bool:
        # No document back: update_one. Every transition's update changes a field its
        # precondition pins, so "matched" is "modified".
        query, update = _statement(transition, workflow_id, params)
        result = await self._col.update_one(query, update)
        return result.matched_count == 1

    async def _apply_many(self, transition: Transition, calls: Sequence[Call], *,
                          stamp: str = CLAIM_ID) -> list[bool]:
        # One update_many applying each call's compare-and-set (`mongo_batch`). Its result
        # only counts them; when some failed, one read of the stamps tells which ones won.
        # Sound: each call writes a fresh id into `stamp`, which nothing else writes there,
        # so finding it proves that call's update ran: never a false win. A winner is found
        # unless it was re-stamped since. CLAIM_ID (the scheduler's claims, the releases):
        # that needs it to have left `scheduled` first (run by a runner on another request
        # for it, or archived): it is handled then, and not sending it is right; a release
        # so re-stamped (claimed again since) reads as lost: a spurious warning. Not the
        # execution id there: a retry and a wake keep theirs, so a loser would find it; nor
        # `scheduled_at`: two schedulers may claim with the same `now`. A trigger claim's
        # new execution id: its own request is produced after this; only a redelivered older
        # request can run and release it in between, which the service then finds by the
        # stored execution (`WorkflowService._refuse`).
        if not calls:
            return []
        param = stamp_param(transition, stamp)
        won = await self._batch(transition, calls, stamp, [p[param] for _, p in calls],
                                whole=False)
        return [doc is not None for doc in won]

    async def _apply_many_returning(self, transition: Transition, calls: Sequence[Call], *,
                                    stamp: str) -> list[Workflow | None]:
        # As `_apply_many`, the won documents read back whole, found by the stamp each call
        # wrote (the lock's fresh token, which nothing else writes while it is locked).
        if not calls:
            return []
        stamps = [stamped_value(transition, stamp, params) for _, params in calls]
        won = await self._batch(transition, calls, stamp, stamps, whole=True)
        return [None if doc is None else self._handler.from_document(doc) for doc in won]

    async def _batch(self, transition: Transition, calls: Sequence[Call], stamp: str,
                     stamps: list[Any], *, whole: bool) -> list[Doc | None]:
        """Each call's document as the batch left it when the call won (None: it lost);
        `whole`: the documents as stored, else only their stamps (none read if all won).

        An update_many is no retryable write: a lone call is sent as its single command, and
        after a transient error what the batch applied is read back and each call it did not
        apply is run alone."""
        if len(set(stamps)) != len(stamps):
            raise ValueError(f"{transition.name}: stamps must differ within a batch")
        if len(calls) == 1:  # alone: the single command, a retryable write
            workflow_id, params = calls[0]
            if whole:
                return [await self._apply_returning_doc(transition, workflow_id, params)]
            held = await self.apply(transition, workflow_id, params)
            return [{stamp: stamps[0]} if held else None]
        try:
            matched: int | None = (
                await self._col.update_many(*batched_statement(transition, calls))
            ).matched_count
        except ServerSelectionTimeoutError:
            raise  # no server to send it to: nothing applied, and a read-back would wait too
        except PyMongoError as exc:
            if not is_transient(exc):
                raise
            matched = None
        if matched == 0:
            return [None] * len(calls)
        if matched == len(calls) and not whole:
            return [{stamp: value} for value in stamps]
        query = {WORKFLOW_ID: {"$in": [wid for wid, _ in calls]}, stamp: {"$in": stamps}}
        projection = None if whole else {"_id": 0, stamp: 1}
        # On the primary that acknowledged the writes.
        primary = self._col.with_options(read_preference=ReadPreference.PRIMARY)
        found = {get_path(doc, stamp): doc async for doc in primary.find(query, projection)}
        won: list[Doc | None] = [found.get(value) for value in stamps]
        if matched is None:
            for i, (workflow_id, params) in enumerate(calls):
                if won[i] is None:
                    won[i] = await self._apply_returning_doc(transition, workflow_id, params)
        return won

    async def _apply_returning(self, transition: Transition, workflow_id: str,
                               params: Mapping[str, Any]) -> Workflow | None:
        doc = await self._apply_returning_doc(transition, workflow_id, params)
        return self._handler.from_document(doc) if doc else None

    async def _apply_returning_doc(self, transition: Transition, workflow_id: str,
                                   params: Mapping[str, Any]) -> Doc | None:
        query, update = _statement(transition, workflow_id, params)
        return await self._col.find_one_and_update(
            query, update, return_document=ReturnDocument.AFTER
        )

    async def _select(self, query: Query, params: Mapping[str, Any], limit: int
                      ) -> list[Workflow]:
        return [self._handler.from_document(d) async for d in self._find(query, params, limit)]

    async def _select_due(self, query: Query, params: Mapping[str, Any], limit: int
                          ) -> list[DueWorkflow]:
        return [_due(d) async for d in self._find(query, params, limit, _DUE_FIELDS)]

    async def _first_next_run(self, query: Query, params: Mapping[str, Any]
                              ) -> datetime | None:
        projection = {"_id": 0, NEXT_RUN: 1}
        found: datetime | None = None
        async for doc in self._find(query, params, 1, projection):
            found = doc["trigger"]["next_run"]
        return found

    async def _count(self, query: Query, params: Mapping[str, Any], limit: int) -> int:
        check_params(query.params, params, query.name)
        return await self._col.count_documents(to_query_filter(query.where, params), limit=limit)

    def _find(self, query: Query, params: Mapping[str, Any], limit: int,
              projection: Doc | None = None) -> AsyncCursor[Doc]:
        check_params(query.params, params, query.name)
        return (
            self._col.find(to_query_filter(query.where, params), projection)
            .sort([(field, ASCENDING) for field in query.order])
            .limit(limit)
        )


def _statement(transition: Transition, workflow_id: str, params: Mapping[str, Any]
               ) -> tuple[Doc, Doc | list[Doc]]:
    check_params(transition.params, params, transition.name)
    query = {WORKFLOW_ID: workflow_id, **to_filter(transition.requires, params)}
    return query, to_update(transition.update, params)
