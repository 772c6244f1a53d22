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
MAX_SLOTS_COUNTED = 10_000  # skipped slots counted per run: a bound on the work, not a rule


class Schedule(Protocol):
    """When a trigger kind runs."""

    @property
    def catchup_window(self) -> timedelta:
        """How old a missed slot may be and still run (once) when the scheduler sees it."""
        ...

    @property
    def is_timer(self) -> bool:
        """A one-shot timer: its single slot always runs, however late."""
        ...

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        """The first slot of a new (or resumed) workflow; None when it never runs by itself."""
        ...

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        """The first slot strictly after `now`; None when there is none."""
        ...


class ManualSchedule:
    """Runs only when triggered."""

    catchup_window = DEFAULT_CATCHUP_WINDOW
    is_timer = False

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return None

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return None


@dataclass(frozen=True, slots=True)
class PeriodicSchedule:
    """The grid `created_at + k * interval`, k >= 1: runs never drift."""

    interval_ms: int
    catchup_window: timedelta = DEFAULT_CATCHUP_WINDOW
    is_timer = False

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return next_grid_slot(created_at, self.interval_ms, now)

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return next_grid_slot(created_at, self.interval_ms, now)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """Each matching wall-clock minute of a time zone."""

    spec: CronSpec
    catchup_window: timedelta = DEFAULT_CATCHUP_WINDOW
    is_timer = False

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return next_cron_slot(self.spec, now)

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return next_cron_slot(self.spec, now)


@dataclass(frozen=True, slots=True)
class OnceSchedule:
    """A durable timer: one run at `at`, none after it."""

    at: datetime
    catchup_window: timedelta = DEFAULT_CATCHUP_WINDOW
    is_timer = True

    def first_run(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return self.at

    def next_after(self, *, created_at: datetime, now: datetime) -> datetime | None:
        return None


class UnknownTriggerKind(ValueError):
    """A trigger kind with no schedule registered: a programming error, never a default."""


def catchup_window_of(trigger: Trigger) -> timedelta:
    """The trigger's catch-up window; the default (1h) when it sets none (every v1 one)."""
    if trigger.catchup_window_ms is None:
        return DEFAULT_CATCHUP_WINDOW
    return timedelta(milliseconds=trigger.catchup_window_ms)


def _periodic(trigger: Trigger) -> Schedule:
    if trigger.interval_ms is None:
        raise ValueError("a periodic trigger needs interval_ms")
    return PeriodicSchedule(trigger.interval_ms, catchup_window_of(trigger))


def _cron(trigger: Trigger) -> Schedule:
    if trigger.cron is None:
        raise ValueError("a cron trigger needs cron")
    spec = CronSpec(expression=trigger.cron, timezone=trigger.timezone or "UTC")
    return CronSchedule(spec, catchup_window_of(trigger))


def _once(trigger: Trigger) -> Schedule:
    if trigger.at is None:
        raise ValueError("a once trigger needs at")
    return OnceSchedule(trigger.at, catchup_window_of(trigger))


# One line per trigger kind.
SCHEDULES: dict[TriggerType, Callable[[Trigger], Schedule]] = {
    TriggerType.MANUAL: lambda _trigger: ManualSchedule(),
    TriggerType.PERIODIC: _periodic,
    TriggerType.CRON: _cron,
    TriggerType.ONCE: _once,
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


def overlap_of(trigger: Trigger) -> Overlap:
    """The trigger's overlap rule; `skip` when it sets none (every v1 one)."""
    return Overlap(trigger.overlap) if trigger.overlap else Overlap.SKIP


@dataclass(frozen=True, slots=True)
class AfterRun:
    """Where a scheduled workflow goes when its run ends: its next run, and slots skipped."""

    next_run: datetime | None
    skipped_slots: int


def slots_between(
    schedule: Schedule, *, created_at: datetime, start: datetime, end: datetime
) -> int:
    """How many slots fall in (start, end], counted up to MAX_SLOTS_COUNTED."""
    count, moment = 0, start
    while count < MAX_SLOTS_COUNTED:
        slot = schedule.next_after(created_at=created_at, now=moment)
        if slot is None or slot > end:
            break
        count, moment = count + 1, slot
    return count


def after_run(
    schedule: Schedule, overlap: Overlap, *, created_at: datetime,
    run_started_at: datetime | None, now: datetime,
) -> AfterRun:
    """The slots that came while the run (and its retries) went on: `skip` drops them all
    (they are counted), `buffer_one` runs one of them right away (the rest are counted)."""
    following = schedule.next_after(created_at=created_at, now=now)
    if run_started_at is None:
        return AfterRun(following, 0)
    missed = slots_between(schedule, created_at=created_at, start=run_started_at, end=now)
    if missed and decide_overlap(overlap, buffered=False) == "buffer":
        return AfterRun(now, missed - 1)
    return AfterRun(following, missed)
