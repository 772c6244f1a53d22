"""Cron slots across DST transitions in several zones, leap days, and invalid input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.cron import CronError, next_cron_slot, parse_cron


def slots(expression: str, zone: str, start: datetime, n: int) -> list[str]:
    spec = parse_cron(expression, zone)
    out, moment = [], start
    for _ in range(n):
        moment = next_cron_slot(spec, moment)
        assert moment.tzinfo is not None and moment.utcoffset().total_seconds() == 0
        out.append(moment.astimezone(spec.zone).isoformat())
    return out


def test_weekdays_at_nine_in_berlin() -> None:
    # Friday 2026-12-04 10:00 Berlin -> next Monday 09:00, then Tuesday
    start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert slots("0 9 * * 1-5", "Europe/Berlin", start, 2) == [
        "2026-12-07T09:00:00+01:00", "2026-12-08T09:00:00+01:00",
    ]


def test_names_steps_and_ranges() -> None:
    start = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # a Thursday
    assert slots("*/20 8-9 * JAN MON,FRI", "UTC", start, 4) == [
        "2026-01-02T08:00:00+00:00", "2026-01-02T08:20:00+00:00",
        "2026-01-02T08:40:00+00:00", "2026-01-02T09:00:00+00:00",
    ]


def test_berlin_spring_forward_skipped_time_runs_at_first_instant_after_gap() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist that day
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert slots("30 2 * * *", "Europe/Berlin", start, 2) == [
        "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00",
    ]


def test_berlin_spring_forward_sub_hourly_schedule_resumes_after_gap() -> None:
    start = datetime(2026, 3, 29, 0, 40, tzinfo=UTC)  # 01:40 CET
    assert slots("*/30 * * * *", "Europe/Berlin", start, 3) == [
        "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00", "2026-03-29T04:00:00+02:00",
    ]


def test_berlin_fall_back_repeated_time_runs_once() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice, runs once
    start = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert slots("30 2 * * *", "Europe/Berlin", start, 2) == [
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00",
    ]


def test_berlin_fall_back_sub_hourly_repeated_minutes_run_once() -> None:
    start = datetime(2026, 10, 24, 23, 50, tzinfo=UTC)  # 01:50 CEST
    assert slots("0,30 * * * *", "Europe/Berlin", start, 4) == [
        "2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00",
        "2026-10-25T03:00:00+01:00", "2026-10-25T03:30:00+01:00",
    ]


def test_new_york_spring_and_fall() -> None:
    spring = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST; 02:00 -> 03:00 EDT
    assert slots("15 2 * * *", "America/New_York", spring, 2) == [
        "2026-03-08T03:00:00-04:00", "2026-03-09T02:15:00-04:00",
    ]
    fall = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT; 02:00 -> 01:00 EST
    assert slots("15 1 * * *", "America/New_York", fall, 2) == [
        "2026-11-01T01:15:00-04:00", "2026-11-02T01:15:00-05:00",
    ]


def test_leap_day_only_in_leap_years() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert slots("0 12 29 2 *", "UTC", start, 2) == [
        "2028-02-29T12:00:00+00:00", "2032-02-29T12:00:00+00:00",
    ]


def test_slot_is_strictly_after() -> None:
    spec = parse_cron("* * * * *", "UTC")
    on_minute = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert next_cron_slot(spec, on_minute) == datetime(2026, 5, 1, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "zone", "fragment"),
    [
        ("61 * * * *", "UTC", "invalid cron"),
        ("* * *", "UTC", "5 fields"),
        ("* * * * * *", "UTC", "5 fields"),
        ("0 0 30 2 *", "UTC", "invalid cron"),
        ("0 9 * * MON", "Mars/Olympus", "unknown time zone"),
        ("0 9 * * MON", "", "unknown time zone"),
    ],
)
def test_invalid_expression_or_zone(expression: str, zone: str, fragment: str) -> None:
    with pytest.raises(CronError, match=fragment):
        parse_cron(expression, zone)
