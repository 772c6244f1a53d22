"""The values the dispatch transitions take and the scheduler observes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.models import TriggerStatus
from shared.domain.schedules import Schedule


@dataclass(frozen=True, slots=True)
class TriggerClaim:
    """Arguments of an atomic manual-trigger claim (active -> scheduled, busy)."""

    workflow_id: str
    execution_id: str
    now: datetime
    window_start: datetime
    rate_limit: int  # accepted triggers per window; 0 disables the limit
    input: dict[str, Any] | None = None  # validated, defaults applied; None: none given


@dataclass(frozen=True, slots=True)
class DueWorkflow:
    """What the scheduler needs to dispatch one workflow, without its actions."""

    workflow_id: str
    next_run: datetime | None
    trigger_status: TriggerStatus | None
    execution_id: str | None
    schedule: Schedule
    created_at: datetime
    scheduled_at: datetime | None = None
    lock_token: str | None = None


@dataclass(frozen=True, slots=True)
class DueClaim:
    """Arguments of the scheduler's dispatch of a due workflow still as observed."""

    due: DueWorkflow
    now: datetime
    execution_id: str  # a fresh one, or the pending execution a retry continues
    next_run: datetime | None  # the slot after this dispatch


@dataclass(frozen=True, slots=True)
class WakeClaim:
    """Arguments of waking an execution parked on a delay or a signal (waiting -> scheduled)."""

    workflow_id: str
    execution_id: str
    now: datetime
    next_run: datetime | None


@dataclass(frozen=True, slots=True)
class Release:
    """The state a runner leaves a workflow in when it unlocks it."""

    workflow_id: str
    lock_token: str
    trigger_status: TriggerStatus | None
    next_run: datetime | None
    execution_id: str | None
    interrupted_attempts: int = 0
    skipped_slots: int = 0  # slots that came during the run and will not run (metrics only)
