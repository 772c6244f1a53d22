"""Ports: the interfaces services depend on. Adapters implement them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.domain.lifecycle.dispatch import DueWorkflow, Release, TriggerClaim
from shared.domain.lifecycle.language import Transition
from shared.domain.lifecycle.listing import WorkflowFilter
from shared.domain.models import (
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    Workflow,
)
from shared.domain.versions import WorkflowVersion

# the lifecycle's values, re-exported
__all__ = ["DueWorkflow", "Release", "TriggerClaim", "WorkflowFilter"]


class Clock(Protocol):
    def now(self) -> datetime:
        """Current UTC time, millisecond precision (what the database stores)."""
        ...


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


class ExecutionRepository(Protocol):
    async def get_or_create(self, execution: Execution) -> Execution:
        """The stored execution with this id, inserting `execution` if there is none."""
        ...

    async def save_attempt(
        self, execution: Execution, *, changed_actions: Collection[str],
        expected_retries: int | None = None,
    ) -> bool:
        """Persist status, counters, `attempt` and the entries of `execution.actions` keyed
        `changed_actions` (the actions this attempt ran); other entries are left as stored.

        With `expected_retries`, only while the stored execution is still pending with that
        many retries left (a compare-and-set: a runner that lost its lease cannot overwrite
        the attempt of the runner that took over); whether it was saved.
        """
        ...

    async def deliver_signal(self, execution_id: str, key: str, signal: str, payload: Any
                             ) -> bool:
        """Store `payload` on the action `key` parked on `signal` and not yet delivered (CAS);
        whether it was stored."""
        ...

    async def cancel(self, execution: Execution) -> Execution:
        """Settle an execution that will not run again; the stored execution.

        `execution` is a cancelled one (status, `finished_at`, `reason`). It is inserted when
        no execution has its id; a pending one takes its status, `finished_at` and `reason`
        (a compare-and-set on `pending`); a finished one stays as it is.
        """
        ...

    async def get(self, execution_id: str) -> Execution | None: ...

    async def list_for_workflow(
        self, workflow_id: str, *, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> list[Execution]:
        """Newest first, strictly before the (created_at, id) cursor."""
        ...

    async def list_executions(
        self, *, workflow_id: str | None, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> list[Execution]:
        """`list_for_workflow` over every workflow (`workflow_id` None) or one."""
        ...

    async def request_cancel(self, execution_id: str) -> bool:
        """Flag a pending execution to be cancelled (its runner starts no further action)."""
        ...

    async def reopen(self, execution_id: str, *, retries: int, reset_actions: Collection[str]
                     ) -> Execution | None:
        """A failed or cancelled execution -> pending with `retries` left, not finished, no
        cancel flag, the `reset_actions` entries pending again (CAS); the reopened one."""
        ...


class ExecutionRequestPublisher(Protocol):
    async def publish(self, request: ExecutionRequest) -> None:
        """Produce and wait for the broker's acknowledgement."""
        ...

    async def publish_many(self, requests: Sequence[ExecutionRequest]) -> list[bool]:
        """Produce all, wait for every ack; per request whether it was acknowledged."""
        ...


class HealthCheck(Protocol):
    async def __call__(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ConsumedMessage:
    """One record as the runner's consumer loop sees it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()  # e.g. the W3C trace context


class MessageSource(Protocol):
    """A consumer-group member: fetches records and commits processed offsets."""

    async def fetch(self, *, timeout_s: float, max_records: int) -> list[ConsumedMessage]: ...

    async def commit(self, offsets: dict[int, int]) -> None:
        """Commit, per partition, the offset of the next record to read."""
        ...


class DeadLetterSink(Protocol):
    """Where the runner keeps records it cannot decode (a dead-letter topic)."""

    async def send(self, message: ConsumedMessage, reason: str, detail: str) -> None:
        """Store the record unchanged with why; raise `Unavailable` if it was not stored."""
        ...


class NextRunWatch(Protocol):
    """Reports every `trigger.next_run` written to the workflows (e.g. a change stream)."""

    async def run(self, on_next_run: Callable[[datetime], None]) -> None:
        """Call `on_next_run` for each one until cancelled; return if the source is absent."""
        ...
