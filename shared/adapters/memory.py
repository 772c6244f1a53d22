"""In-memory adapters: the repositories and publisher as plain Python, for unit tests.

Every method runs without awaiting in between its read and its write, so each one
is atomic on the event loop, as a single-document MongoDB update is.
"""

from __future__ import annotations

from datetime import datetime

from shared.adapters.memory_executions import InMemoryExecutionRepository, InMemoryPublisher
from shared.domain.errors import Conflict
from shared.domain.models import (
    Lock,
    RateWindow,
    TriggerStatus,
    TriggerType,
    Workflow,
    WorkflowStatus,
)
from shared.domain.schedules import schedule_for
from shared.ports import DueWorkflow, Release, TriggerClaim

__all__ = ["InMemoryExecutionRepository", "InMemoryPublisher", "InMemoryWorkflowRepository"]


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


def _due_key(due: DueWorkflow) -> tuple[datetime, str]:
    assert due.next_run is not None
    return (due.next_run, due.workflow_id)


class InMemoryWorkflowRepository:
    """WorkflowRepository over a dict of models."""

    def __init__(self) -> None:
        self._items: dict[str, Workflow] = {}

    async def create(self, workflow: Workflow) -> None:
        if workflow.workflow_id in self._items:
            raise Conflict(f"workflow {workflow.workflow_id!r} already exists")
        self._items[workflow.workflow_id] = workflow.model_copy(deep=True)

    async def get(self, workflow_id: str) -> Workflow | None:
        found = self._items.get(workflow_id)
        return found.model_copy(deep=True) if found else None

    async def list_after(self, *, after_id: str | None, limit: int) -> list[Workflow]:
        ids = sorted(i for i in self._items if after_id is None or i > after_id)
        return [self._items[i].model_copy(deep=True) for i in ids[:limit]]

    def _idle_manual(self, workflow_id: str) -> Workflow | None:
        w = self._items.get(workflow_id)
        if w is None or w.archived_at is not None or w.status != WorkflowStatus.ACTIVE:
            return None
        if w.trigger.type != TriggerType.MANUAL or w.trigger.status is not None:
            return None
        return w

    async def claim_for_trigger(self, claim: TriggerClaim) -> bool:
        w = self._idle_manual(claim.workflow_id)
        if w is None:
            return False
        if claim.rate_limit:
            if w.rate is None or w.rate.window_start != claim.window_start:
                w.rate = RateWindow(window_start=claim.window_start, count=0)
            if w.rate.count >= claim.rate_limit:
                return False
            w.rate.count += 1
        w.status = WorkflowStatus.SCHEDULED
        w.trigger.status = TriggerStatus.BUSY
        w.trigger.execution_id = claim.execution_id
        w.scheduled_at = claim.now
        return True

    async def undo_trigger_claim(self, claim: TriggerClaim) -> bool:
        w = self._items.get(claim.workflow_id)
        if w is None or w.status != WorkflowStatus.SCHEDULED:
            return False
        if w.trigger.execution_id != claim.execution_id:
            return False
        w.status = WorkflowStatus.ACTIVE
        w.trigger.status = None
        w.trigger.execution_id = None
        w.scheduled_at = None
        if w.rate is not None and w.rate.window_start == claim.window_start:
            w.rate.count -= 1
        return True

    async def archive(self, workflow_id: str, now: datetime) -> Workflow | None:
        w = self._items.get(workflow_id)
        if w is None:
            return None
        if w.archived_at is None:
            w.archived_at = now
            w.trigger.next_run = None
            if w.status != WorkflowStatus.LOCKED:
                w.status = WorkflowStatus.ACTIVE
                w.trigger.status = None
        return w.model_copy(deep=True)

    async def find_archived_unsettled(self, *, limit: int) -> list[Workflow]:
        found = [
            w.model_copy(deep=True) for w in self._items.values()
            if w.archived_at is not None and w.status != WorkflowStatus.LOCKED
            and w.trigger.execution_id is not None
        ]
        return sorted(found, key=lambda w: w.workflow_id)[:limit]

    async def clear_archived_execution(self, workflow_id: str, execution_id: str) -> bool:
        w = self._items.get(workflow_id)
        if w is None or w.archived_at is None or w.status == WorkflowStatus.LOCKED:
            return False
        if w.trigger.execution_id != execution_id:
            return False
        w.status = WorkflowStatus.ACTIVE
        w.scheduled_at = None
        w.trigger.status = None
        w.trigger.next_run = None
        w.trigger.execution_id = None
        w.trigger.interrupted_attempts = 0
        return True

    async def find_due(
        self, now: datetime, *, after: DueWorkflow | None, limit: int
    ) -> list[DueWorkflow]:
        due = [
            _due(w)
            for w in self._items.values()
            if w.status == WorkflowStatus.ACTIVE and w.archived_at is None
            and w.trigger.next_run is not None and w.trigger.next_run <= now
        ]
        due.sort(key=_due_key)
        if after is not None:
            due = [d for d in due if _due_key(d) > _due_key(after)]
        return due[:limit]

    async def claim_due(
        self, due: DueWorkflow, *, now: datetime, execution_id: str, next_run: datetime | None
    ) -> bool:
        w = self._items.get(due.workflow_id)
        if w is None or w.status != WorkflowStatus.ACTIVE or w.archived_at is not None:
            return False
        if w.trigger.next_run != due.next_run or w.trigger.status != due.trigger_status:
            return False
        w.status = WorkflowStatus.SCHEDULED
        w.scheduled_at = now
        w.trigger.status = TriggerStatus.BUSY
        w.trigger.execution_id = execution_id
        w.trigger.next_run = next_run
        return True

    async def find_stuck_scheduled(
        self, older_than: datetime, *, limit: int
    ) -> list[DueWorkflow]:
        stuck = [
            _due(w) for w in self._items.values()
            if w.status == WorkflowStatus.SCHEDULED and w.archived_at is None
            and w.scheduled_at is not None and w.scheduled_at <= older_than
        ]
        return sorted(stuck, key=lambda d: d.workflow_id)[:limit]

    async def refresh_scheduled(self, due: DueWorkflow, *, now: datetime) -> bool:
        w = self._items.get(due.workflow_id)
        if w is None or w.status != WorkflowStatus.SCHEDULED:
            return False
        if w.scheduled_at != due.scheduled_at:
            return False
        w.scheduled_at = now
        return True

    async def find_expired_locks(self, now: datetime, *, limit: int) -> list[DueWorkflow]:
        expired = [
            _due(w) for w in self._items.values()
            if w.status == WorkflowStatus.LOCKED and w.lock is not None
            and w.lock.expires_at <= now
        ]
        return sorted(expired, key=lambda d: d.workflow_id)[:limit]

    async def recover_lock(self, due: DueWorkflow, *, now: datetime) -> bool:
        w = self._items.get(due.workflow_id)
        if w is None or w.status != WorkflowStatus.LOCKED or w.lock is None:
            return False
        if w.lock.token != due.lock_token:
            return False
        w.status = WorkflowStatus.SCHEDULED
        w.scheduled_at = now
        w.lock = None
        w.trigger.interrupted_attempts += 1
        return True

    async def earliest_next_run(self, after: datetime) -> datetime | None:
        runs = [
            w.trigger.next_run for w in self._items.values()
            if w.archived_at is None and w.trigger.next_run is not None
            and w.trigger.next_run > after
        ]
        return min(runs, default=None)

    async def lock(
        self, workflow_id: str, *, token: str, lease_until: datetime
    ) -> Workflow | None:
        w = self._items.get(workflow_id)
        if w is None or w.status != WorkflowStatus.SCHEDULED or w.archived_at is not None:
            return None
        w.status = WorkflowStatus.LOCKED
        w.lock = Lock(token=token, expires_at=lease_until)
        return w.model_copy(deep=True)

    async def extend_lease(self, workflow_id: str, *, token: str, lease_until: datetime) -> bool:
        w = self._items.get(workflow_id)
        if w is None or w.lock is None or w.lock.token != token:
            return False
        w.lock.expires_at = lease_until
        return True

    async def release(self, release: Release) -> bool:
        w = self._items.get(release.workflow_id)
        if w is None or w.status != WorkflowStatus.LOCKED or w.lock is None:
            return False
        if w.lock.token != release.lock_token:
            return False
        w.status = WorkflowStatus.ACTIVE
        w.lock = None
        w.scheduled_at = None
        w.trigger.status = release.trigger_status
        w.trigger.next_run = release.next_run
        w.trigger.execution_id = release.execution_id
        w.trigger.interrupted_attempts = release.interrupted_attempts
        return True
