"""In-memory adapters: the repositories and publisher as plain Python, for unit tests.

Every method runs without awaiting in between its read and its write, so each one
is atomic on the event loop, as a single-document MongoDB update is. Workflows are kept
as the documents MongoDB would store, and the lifecycle's transitions and queries are
evaluated on them (`shared.domain.lifecycle.evaluate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.adapters.mappers import WORKFLOW_HANDLER
from shared.adapters.memory_executions import InMemoryExecutionRepository, InMemoryPublisher
from shared.adapters.memory_versions import InMemoryVersions
from shared.adapters.workflow_roles import Call, WorkflowRoles
from shared.domain.errors import Conflict
from shared.domain.lifecycle.evaluate import Doc, get_path, run, select
from shared.domain.lifecycle.fields import CLAIM_ID, NEXT_RUN
from shared.domain.lifecycle.language import Query, Transition, stamp_param, stamped_value
from shared.domain.lifecycle.listing import listing
from shared.domain.models import Workflow
from shared.domain.schedules import schedule_for
from shared.ports import DueWorkflow, WorkflowFilter

__all__ = [
    "InMemoryExecutionRepository", "InMemoryPublisher", "InMemoryVersions",
    "InMemoryWorkflowRepository",
]


def _due(workflow: Workflow) -> DueWorkflow:
    return DueWorkflow(
        workflow_id=workflow.workflow_id,
        next_run=workflow.trigger.next_run,
        trigger_status=workflow.trigger.status,
        execution_id=workflow.trigger.execution_id,
        schedule=schedule_for(workflow.trigger),
        created_at=workflow.created_at,
        scheduled_at=workflow.scheduled_at,
        lock_token=workflow.lock.token if workflow.lock else None,
    )


class InMemoryWorkflowRepository(WorkflowRoles):
    """Every workflow role (`shared.ports.WorkflowRepository`) over a dict of documents."""

    def __init__(self) -> None:
        self._docs: dict[str, Doc] = {}

    async def create(self, workflow: Workflow) -> None:
        if workflow.workflow_id in self._docs:
            raise Conflict(f"workflow {workflow.workflow_id!r} already exists")
        self._docs[workflow.workflow_id] = WORKFLOW_HANDLER.to_document(workflow)

    async def get(self, workflow_id: str) -> Workflow | None:
        found = self._docs.get(workflow_id)
        return WORKFLOW_HANDLER.from_document(found) if found else None

    async def list_after(self, *, after_id: str | None, limit: int,
                         filters: WorkflowFilter | None = None) -> list[Workflow]:
        query = listing(after_id=after_id, filters=filters)
        return await self._select(query, {}, limit)

    async def apply(self, transition: Transition, workflow_id: str,
                    params: Mapping[str, Any]) -> bool:
        return self._run(transition, workflow_id, params) is not None

    async def _apply_many(self, transition: Transition, calls: Sequence[Call], *,
                          stamp: str = CLAIM_ID) -> list[bool]:
        stamp_param(transition, stamp)  # what the MongoDB adapter needs, required here too
        return [self._run(transition, workflow_id, params) is not None
                for workflow_id, params in calls]

    async def _apply_returning(self, transition: Transition, workflow_id: str,
                               params: Mapping[str, Any]) -> Workflow | None:
        doc = self._run(transition, workflow_id, params)
        return WORKFLOW_HANDLER.from_document(doc) if doc is not None else None

    async def _apply_many_returning(self, transition: Transition, calls: Sequence[Call], *,
                                    stamp: str) -> list[Workflow | None]:
        for _, params in calls:  # what the MongoDB adapter needs, required here too
            stamped_value(transition, stamp, params)
        return [await self._apply_returning(transition, wid, params) for wid, params in calls]

    async def _select(self, query: Query, params: Mapping[str, Any], limit: int
                      ) -> list[Workflow]:
        return [WORKFLOW_HANDLER.from_document(d) for d in self._matching(query, params, limit)]

    async def _select_due(self, query: Query, params: Mapping[str, Any], limit: int
                          ) -> list[DueWorkflow]:
        return [_due(workflow) for workflow in await self._select(query, params, limit)]

    async def _first_next_run(self, query: Query, params: Mapping[str, Any]
                              ) -> datetime | None:
        found = self._matching(query, params, 1)
        return get_path(found[0], NEXT_RUN) if found else None

    def _run(self, transition: Transition, workflow_id: str, params: Mapping[str, Any]
             ) -> Doc | None:
        doc = self._docs.get(workflow_id)
        return doc if doc is not None and run(transition, doc, params) else None

    async def _count(self, query: Query, params: Mapping[str, Any], limit: int) -> int:
        return len(self._matching(query, params, limit))

    def _matching(self, query: Query, params: Mapping[str, Any], limit: int) -> list[Doc]:
        return select(query, self._docs.values(), params)[:limit]
