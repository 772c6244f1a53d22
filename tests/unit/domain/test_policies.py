"""Retry delays, durations, and the due-time decisions as pure functions of `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.cron import parse_cron
from shared.domain.durations import DurationError, parse_duration
from shared.domain.retry_policy import V1_POLICY, RetryPolicy
from shared.domain.schedules import (
    CronSchedule,
    OnceSchedule,
    Overlap,
    PeriodicSchedule,
    decide_due,
    decide_overlap,
)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_v1_policy_is_four_attempts_with_the_original_backoff() -> None:
    assert [V1_POLICY.delay_s(a) for a in (1, 2, 3)] == [4.0, 9.0, 16.0]
    assert [V1_POLICY.retries_after(a) for a in (1, 2, 3, 4)] == [True, True, True, False]
    assert V1_POLICY.delay_s(1, scale=0.5) == 2.0


def test_exponential_policy_caps_and_non_retryable_statuses() -> None:
    policy = RetryPolicy(max_attempts=5, initial_interval_s=2, backoff_coefficient=3,
                         max_interval_s=30, non_retryable_statuses=frozenset({404}))
    assert [policy.delay_s(a) for a in (1, 2, 3, 4)] == [2, 6, 18, 30]
    assert policy.retries_after(1, http_status=500)
    assert not policy.retries_after(1, http_status=404)
    assert not policy.retries_after(5)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("2h", 7200),
                                                ("1d", 86400), ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "10", "s", "-1s", "1.5h", "1w", "0s", "400d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_zero_allowed_where_asked() -> None:
    assert parse_duration("0s", allow_zero=True) == timedelta(0)


def test_missed_slots_collapse_into_one_run_within_the_window() -> None:
    schedule = PeriodicSchedule(interval_ms=60_000)
    now = T0 + timedelta(minutes=30, seconds=5)  # 30 slots missed
    decision = decide_due(schedule, slot=T0 + timedelta(minutes=1), created_at=T0, now=now)
    assert decision.run and decision.next_run == T0 + timedelta(minutes=31)


def test_slot_older_than_the_catchup_window_waits_for_the_next() -> None:
    schedule = CronSchedule(parse_cron("0 * * * *"))
    now = T0 + timedelta(hours=3, minutes=10)
    decision = decide_due(schedule, slot=T0 + timedelta(hours=1), created_at=T0, now=now,
                          catchup_window=timedelta(hours=1))
    assert not decision.run and decision.reason == "outside_catchup_window"
    assert decision.next_run == T0 + timedelta(hours=4)
    never = decide_due(schedule, slot=now - timedelta(seconds=1), created_at=T0, now=now,
                       catchup_window=timedelta(0))
    assert not never.run


def test_an_overdue_timer_runs_once_and_has_no_next_slot() -> None:
    schedule = OnceSchedule(at=T0)
    decision = decide_due(schedule, slot=T0, created_at=T0, now=T0 + timedelta(days=2),
                          is_timer=True)
    assert decision.run and decision.next_run is None


def test_overlap_skip_and_buffer_one() -> None:
    assert decide_overlap(Overlap.SKIP, buffered=False) == "skip"
    assert decide_overlap(Overlap.BUFFER_ONE, buffered=False) == "buffer"
    assert decide_overlap(Overlap.BUFFER_ONE, buffered=True) == "skip"
