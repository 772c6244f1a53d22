"""Workflow stores, one port per role; one adapter class may serve several."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.domain.lifecycle.dispatch import (
    DueClaim,
    DueWorkflow,
    Release,
    TriggerClaim,
    WakeClaim,
)
from shared.domain.lifecycle.language import Transition
from shared.domain.lifecycle.listing import WorkflowFilter
from shared.domain.models import (
    Workflow,
)
from shared.domain.versions import WorkflowVersion


class WorkflowDefinitions(Protocol):
    """The stored workflows as the API defines, reads and archives them."""

    async def create(self, workflow: Workflow) -> None:
        """Insert; raise `Conflict` when the workflow id exists."""
        ...

    async def get(self, workflow_id: str) -> Workflow | None: ...

    async def list_after(self, *, after_id: str | None, limit: int,
                         filters: WorkflowFilter | None = None) -> list[Workflow]:
        """Workflows ordered by id, strictly after `after_id` (those `filters` keeps)."""
        ...

    async def archive(self, workflow_id: str, now: datetime) -> Workflow | None:
        """Mark archived (once) and drop its next run; the workflow after it, None if unknown.

        A workflow not `locked` also goes idle at once, but keeps `trigger.execution_id`: the
        execution it stopped, still to settle (`find_archived_unsettled`). A locked one is
        left to its runner, whose release leaves that execution to settle if it is unfinished.
        """
        ...


class WorkflowVersions(Protocol):
    """The definitions a PUT replaced (`shared.domain.versions`)."""

    async def keep_version(self, version: WorkflowVersion) -> None:
        """Store it; storing the same version again changes nothing (idempotent)."""
        ...

    async def get_version(self, workflow_id: str, version: int) -> WorkflowVersion | None: ...


class TriggerClaims(Protocol):
    """The API's manual trigger: claim an idle workflow, or give the claim back."""

    async def claim_for_trigger(self, claim: TriggerClaim) -> bool:
        """Atomically dispatch an idle manual workflow within its rate limit."""
        ...

    async def undo_trigger_claim(self, claim: TriggerClaim) -> bool:
        """Revert a claim whose request could not be produced."""
        ...


class QueueDepth(Protocol):
    """How many dispatched runs have waited long for a runner (the API's admission bound)."""

    async def count_queued(self, *, older_than: datetime, limit: int) -> int:
        """The runs dispatched before `older_than`, not archived and not yet claimed by a
        runner (`scheduled`), counted up to `limit`."""
        ...


class ArchivedRuns(Protocol):
    """What archiving stopped and is still to settle (`shared/service_layer/settle.py`)."""

    async def find_archived_unsettled(self, *, limit: int) -> list[Workflow]:
        """Archived workflows, not `locked`, whose `trigger.execution_id` is still set."""
        ...

    async def clear_archived_execution(self, workflow_id: str, execution_id: str) -> bool:
        """Archived, not locked, with this execution id -> idle, no execution (CAS)."""
        ...


class Dispatch(Protocol):
    """The scheduler's view: due, stuck and abandoned workflows, and their claims."""

    async def find_due(self, now: datetime, *, after: DueWorkflow | None, limit: int
                       ) -> list[DueWorkflow]:
        """Active workflows with next_run <= now, by (next_run, workflow_id), after `after`."""
        ...

    async def claim_due(self, due: DueWorkflow, *, now: datetime, execution_id: str,
                        next_run: datetime | None) -> bool:
        """Compare-and-set active -> scheduled for a due workflow still as observed."""
        ...

    async def claim_due_many(self, claims: Sequence[DueClaim]) -> list[bool]:
        """`claim_due` for each claim, as one batch; per claim (in order) whether it won."""
        ...

    async def pass_due(self, due: DueWorkflow, *, next_run: datetime | None) -> bool:
        """An idle due slot, still as observed, moves to `next_run` without running (CAS)."""
        ...

    async def find_stuck_scheduled(self, older_than: datetime, *, limit: int
                                   ) -> list[DueWorkflow]: ...

    async def refresh_scheduled(self, due: DueWorkflow, *, now: datetime) -> bool:
        """Re-arm a stuck `scheduled` workflow (CAS on its scheduled_at)."""
        ...

    async def find_expired_locks(self, now: datetime, *, limit: int) -> list[DueWorkflow]: ...

    async def recover_lock(self, due: DueWorkflow, *, now: datetime) -> bool:
        """locked (lease expired, token as observed) -> scheduled; one more interrupted attempt."""
        ...

    async def earliest_next_run(self, after: datetime) -> datetime | None:
        """Earliest next_run later than `after` of any non-archived workflow."""
        ...


class Leases(Protocol):
    """A runner's hold on the workflow it executes."""

    async def lock(self, workflow_id: str, *, token: str, lease_until: datetime
                   ) -> Workflow | None:
        """Atomically scheduled -> locked; the workflow, or None if not claimable."""
        ...

    async def extend_lease(self, workflow_id: str, *, token: str, lease_until: datetime
                           ) -> bool: ...

    async def release(self, release: Release) -> bool:
        """locked (by this token) -> active with the given trigger state."""
        ...

    async def park(self, workflow_id: str, *, token: str, wake_at: datetime | None) -> bool:
        """locked (by this token) -> active, `waiting` on its execution until `wake_at`
        (None: until a signal wakes it); the execution id stays."""
        ...


class Wakes(Protocol):
    """Waking executions parked on a delay or a signal (SPEC 11)."""

    async def find_waking(self, now: datetime, *, after: DueWorkflow | None, limit: int
                          ) -> list[DueWorkflow]:
        """Waiting workflows whose wake time passed, by (next_run, workflow_id), after `after`."""
        ...

    async def wake(self, workflow_id: str, *, execution_id: str, now: datetime,
                   next_run: datetime | None) -> bool:
        """waiting on `execution_id` -> scheduled, busy, keeping the execution (CAS)."""
        ...

    async def wake_many(self, wakes: Sequence[WakeClaim]) -> list[bool]:
        """`wake` for each, as one batch; per wake (in order) whether it won."""
        ...


class Transitions(Protocol):
    """Any transition of `shared.domain.lifecycle.transitions`, by its data."""

    async def apply(self, transition: Transition, workflow_id: str,
                    params: Mapping[str, Any]) -> bool:
        """Run it as one compare-and-set; whether its precondition held."""
        ...


class ApiWorkflows(
    WorkflowDefinitions, TriggerClaims, ArchivedRuns, Wakes, Transitions, Protocol
):
    """The roles workflows_svc uses."""


class SchedulerWorkflows(Dispatch, ArchivedRuns, Wakes, Protocol):
    """The roles scheduler_svc uses."""


class WorkflowRepository(
    WorkflowDefinitions, TriggerClaims, ArchivedRuns, Dispatch, Leases, Transitions, Wakes,
    Protocol,
):
    """Every role at once, as each workflows adapter implements them."""
