"""One `Schedule` per trigger kind, and the due-time decisions as pure functions of `now`.

The scheduler (what to dispatch, and the slot after it) and the runner (the slot after a
run) both ask the workflow's schedule; neither infers the kind from the fields that are set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from shared.domain.cron import CronSpec, next_cron_slot
from shared.domain.models import Trigger, TriggerType
from shared.domain.timing import next_grid_slot

DEFAULT_CATCHUP_WINDOW = timedelta(hours=1)


class Schedule(Protocol):
    """When a trigger kind runs."""

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        """The first slot of a new (or resumed) workflow; None when it never runs by itself."""
        ...

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        """The first slot strictly after `now`; None when there is none."""
        ...


class ManualSchedule:
    """Runs only when triggered."""

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return None

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return None


@dataclass(frozen=True, slots=True)
class PeriodicSchedule:
    """The grid `created_at + k * interval`, k >= 1: runs never drift."""

    interval_ms: int

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return next_grid_slot(created_at, self.interval_ms, now)

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return next_grid_slot(created_at, self.interval_ms, now)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """Each matching wall-clock minute of a time zone."""

    spec: CronSpec

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return next_cron_slot(self.spec, now)

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return next_cron_slot(self.spec, now)


@dataclass(frozen=True, slots=True)
class OnceSchedule:
    """A durable timer: one run at `at`, none after it."""

    at: datetime

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return self.at

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return None


class UnknownTriggerKind(ValueError):
    """A trigger kind with no schedule registered: a programming error, never a default."""


def _periodic(trigger: Trigger) -> Schedule:
    if trigger.interval_ms is None:
        raise ValueError("a periodic trigger needs interval_ms")
    return PeriodicSchedule(interval_ms=trigger.interval_ms)


# One line per trigger kind. Part II's kinds (cron, once) register here too.
SCHEDULES: dict[TriggerType, Callable[[Trigger], Schedule]] = {
    TriggerType.MANUAL: lambda _trigger: ManualSchedule(),
    TriggerType.PERIODIC: _periodic,
}


def schedule_for(trigger: Trigger) -> Schedule:
    """The schedule of a trigger, by its kind."""
    try:
        build = SCHEDULES[trigger.type]
    except KeyError:
        raise UnknownTriggerKind(f"no schedule for trigger kind {trigger.type!r}") from None
    return build(trigger)


class Overlap(StrEnum):
    """What a slot does when it comes while the previous run has not ended."""

    SKIP = "skip"
    BUFFER_ONE = "buffer_one"


@dataclass(frozen=True, slots=True)
class DueDecision:
    """What the scheduler does with a slot that fell due."""

    run: bool
    next_run: datetime | None
    reason: str  # "due" | "outside_catchup_window"


def decide_due(
    schedule: Schedule, *, slot: datetime, created_at: datetime, now: datetime,
    catchup_window: timedelta = DEFAULT_CATCHUP_WINDOW, is_timer: bool = False,
) -> DueDecision:
    """Missed slots collapse into one run, unless the slot is older than the catch-up window
    (then the workflow waits for its next slot). A timer always runs once: it is the run."""
    following = schedule.next_after(created_at=created_at, now=now)
    if is_timer or now - slot <= catchup_window:
        return DueDecision(run=True, next_run=following, reason="due")
    return DueDecision(run=False, next_run=following, reason="outside_catchup_window")


def decide_overlap(overlap: Overlap, *, buffered: bool) -> str:
    """A slot that comes while a run is in flight: "skip" it or "buffer" it (one at most)."""
    if overlap == Overlap.BUFFER_ONE and not buffered:
        return "buffer"
    return "skip"
