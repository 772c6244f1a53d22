"""Overlap after a run and catch-up at dispatch, as pure functions of `now` (SPEC 10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler_svc.scheduler import decide_slot
from shared.domain.cron import parse_cron
from shared.domain.models import Trigger, TriggerStatus, TriggerType
from shared.domain.schedules import (
    CronSchedule,
    OnceSchedule,
    Overlap,
    PeriodicSchedule,
    after_run,
    overlap_of,
    schedule_for,
    slots_between,
)
from shared.ports import DueWorkflow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTELY = CronSchedule(parse_cron("* * * * *"))


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_a_run_inside_one_slot_skips_nothing() -> None:
    ended = after_run(MINUTELY, Overlap.SKIP, created_at=T0, run_started_at=minutes(0),
                      now=minutes(0.5))
    assert (ended.next_run, ended.skipped_slots) == (minutes(1), 0)


def test_skip_drops_and_counts_the_slots_that_came_during_the_run() -> None:
    ended = after_run(MINUTELY, Overlap.SKIP, created_at=T0, run_started_at=minutes(0),
                      now=minutes(3.5))
    assert (ended.next_run, ended.skipped_slots) == (minutes(4), 3)


def test_buffer_one_runs_one_of_them_at_once_and_counts_the_rest() -> None:
    ended = after_run(MINUTELY, Overlap.BUFFER_ONE, created_at=T0, run_started_at=minutes(0),
                      now=minutes(3.5))
    assert (ended.next_run, ended.skipped_slots) == (minutes(3.5), 2)
    none_came = after_run(MINUTELY, Overlap.BUFFER_ONE, created_at=T0,
                          run_started_at=minutes(0), now=minutes(0.9))
    assert (none_came.next_run, none_came.skipped_slots) == (minutes(1), 0)


def test_a_slot_exactly_at_the_end_of_the_run_came_during_it() -> None:
    periodic = PeriodicSchedule(interval_ms=10_000)
    ended = after_run(periodic, Overlap.SKIP, created_at=T0,
                      run_started_at=T0 + timedelta(seconds=10), now=T0 + timedelta(seconds=20))
    assert (ended.next_run, ended.skipped_slots) == (T0 + timedelta(seconds=30), 1)


def test_without_a_known_start_it_is_the_v1_next_slot() -> None:
    ended = after_run(MINUTELY, Overlap.BUFFER_ONE, created_at=T0, run_started_at=None,
                      now=minutes(3.5))
    assert (ended.next_run, ended.skipped_slots) == (minutes(4), 0)


def test_a_once_timer_has_no_slot_after_its_run() -> None:
    timer = OnceSchedule(at=T0)
    ended = after_run(timer, Overlap.BUFFER_ONE, created_at=T0, run_started_at=T0,
                      now=minutes(90))
    assert (ended.next_run, ended.skipped_slots) == (None, 0)


def test_slots_between_is_bounded() -> None:
    every_second = PeriodicSchedule(interval_ms=1_000)
    counted = slots_between(every_second, created_at=T0, start=T0, end=T0 + timedelta(days=2))
    assert counted == 10_000


def test_v1_triggers_default_to_skip_and_one_hour() -> None:
    v1 = Trigger(type=TriggerType.PERIODIC, interval="5s", interval_ms=5_000)
    assert overlap_of(v1) == Overlap.SKIP
    assert schedule_for(v1).catchup_window == timedelta(hours=1)
    v2 = Trigger(type=TriggerType.CRON, cron="0 9 * * *", timezone="Europe/Berlin",
                 overlap="buffer_one", catchup_window="0s", catchup_window_ms=0)
    assert overlap_of(v2) == Overlap.BUFFER_ONE
    assert schedule_for(v2).catchup_window == timedelta(0)


def due(trigger: Trigger, next_run: datetime, status: TriggerStatus | None = None
        ) -> DueWorkflow:
    return DueWorkflow(workflow_id="w", next_run=next_run, trigger_status=status,
                       execution_id="e1" if status else None, schedule=schedule_for(trigger),
                       created_at=T0)


HOURLY = Trigger(type=TriggerType.CRON, cron="0 * * * *", timezone="UTC")


def test_a_slot_within_the_window_runs_once_and_the_next_is_after_now() -> None:
    decision = decide_slot(due(HOURLY, minutes(60)), minutes(110))
    assert decision.run and decision.next_run == minutes(120)


def test_a_slot_older_than_the_window_is_passed_to_the_next() -> None:
    decision = decide_slot(due(HOURLY, minutes(60)), minutes(121))
    assert not decision.run and decision.reason == "outside_catchup_window"
    assert decision.next_run == minutes(180)


def test_zero_window_never_catches_up_but_an_on_time_slot_runs() -> None:
    never = HOURLY.model_copy(update={"catchup_window_ms": 0})
    assert decide_slot(due(never, minutes(60)), minutes(60)).run
    assert not decide_slot(due(never, minutes(60)), minutes(60) + timedelta(seconds=1)).run


def test_an_overdue_once_timer_runs_whatever_the_window() -> None:
    timer = Trigger(type=TriggerType.ONCE, at=minutes(1), catchup_window_ms=0)
    decision = decide_slot(due(timer, minutes(1)), minutes(60 * 24 * 3))
    assert decision.run and decision.next_run is None


def test_a_retry_is_not_a_slot_and_always_runs() -> None:
    decision = decide_slot(due(HOURLY, minutes(60), TriggerStatus.PENDING), minutes(300))
    assert decision.run and decision.next_run == minutes(300 + 60)
