"""Pure decisions of an attempt: its resulting status and the workflow's next state."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.domain.execution_record import earliest_wait, failed_in_attempt
from shared.domain.models import (
    Execution,
    ExecutionStatus,
    TriggerStatus,
    Waiting,
    WaitReason,
    Workflow,
)
from shared.domain.schedules import AfterRun, after_run, overlap_of, schedule_for
from shared.domain.timing import backoff_s
from shared.ports import Release


def settle(
    execution: Execution, now: datetime, retry: bool | None = None,
    retry_at: datetime | None = None,
) -> Execution:
    """Apply an attempt's outcome (its runs recorded), given the retries left before it: ok,
    parked on a wait (still pending), pending until `retry_at`, or failed. `retry` is a retry
    policy's decision (runner_svc.retries), None for the v1 rule."""
    failed = failed_in_attempt(execution) is not None
    if not failed and (waiting := earliest_wait(execution)) is not None:
        return execution.model_copy(update={"status": ExecutionStatus.PENDING,
                                            "waiting": waiting})
    if not failed:
        return execution.model_copy(
            update={"status": ExecutionStatus.OK, "finished_at": now, "waiting": None}
        )
    if execution.retries > 1 if retry is None else retry:
        backoff = None if retry_at is None else Waiting(reason=WaitReason.BACKOFF, until=retry_at)
        return execution.model_copy(update={
            "status": ExecutionStatus.PENDING, "retries": max(execution.retries - 1, 1),
            "waiting": backoff,
        })
    return execution.model_copy(update={
        "status": ExecutionStatus.FAILED, "retries": 0, "finished_at": now, "waiting": None,
    })


def is_parked(execution: Execution) -> bool:
    """Whether the attempt ended parked on a delay or a signal (not finished, not failed)."""
    waiting = execution.waiting
    return execution.status == ExecutionStatus.PENDING and waiting is not None and (
        waiting.reason != WaitReason.BACKOFF
    )


def retry_at(
    retries_before: int, now: datetime, backoff_scale: float,
    retry_delay_s: float | None = None,
) -> datetime:
    """When a failed attempt, with `retries_before` retries left before it, runs again:
    after the retry policy's delay, or v1's backoff."""
    if retry_delay_s is None:
        retry_delay_s = backoff_s(retries_before, scale=backoff_scale)
    return now + timedelta(seconds=retry_delay_s)


def next_run_after(workflow: Workflow, now: datetime) -> datetime | None:
    """The slot after `now` of the workflow's schedule (None for a manual one)."""
    schedule = schedule_for(workflow.trigger)
    return schedule.next_after(created_at=workflow.created_at, now=now)


def run_ended(workflow: Workflow, now: datetime, run_started_at: datetime | None) -> AfterRun:
    """The next run by the schedule and the overlap rule, and the slots the run skipped."""
    return after_run(
        schedule_for(workflow.trigger), overlap_of(workflow.trigger),
        created_at=workflow.created_at, run_started_at=run_started_at, now=now,
    )


def release_for(
    workflow: Workflow, *, token: str, execution_id: str, retries_before: int,
    status: ExecutionStatus | None, now: datetime, backoff_scale: float,
    next_retry: datetime | None = None, run_started_at: datetime | None = None,
) -> Release:
    """How to unlock: wait for a retry while pending (or interrupted: `status` None), else
    go idle. An interrupted attempt counts one more against MAX_INTERRUPTED_ATTEMPTS."""
    if status is not None and status != ExecutionStatus.PENDING:
        after = run_ended(workflow, now, run_started_at)
        return Release(
            workflow_id=workflow.workflow_id, lock_token=token, trigger_status=None,
            next_run=after.next_run, execution_id=None, skipped_slots=after.skipped_slots,
        )
    if status is None:
        next_retry = None  # interrupted: v1's backoff, whatever the policy
    interrupted = workflow.trigger.interrupted_attempts + (1 if status is None else 0)
    return Release(
        workflow_id=workflow.workflow_id, lock_token=token, trigger_status=TriggerStatus.PENDING,
        next_run=next_retry or retry_at(retries_before, now, backoff_scale),
        execution_id=execution_id, interrupted_attempts=interrupted,
    )


def give_up(execution: Execution, interrupted: int, now: datetime) -> Execution:
    """Fail an execution whose attempts were interrupted too often to try again."""
    return execution.model_copy(update={
        "status": ExecutionStatus.FAILED, "retries": 0, "finished_at": now, "waiting": None,
        "reason": f"gave up after {interrupted} interrupted attempts (infrastructure errors "
                  "or lost runners; MAX_INTERRUPTED_ATTEMPTS)",
    })
