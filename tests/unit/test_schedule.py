"""shared/domain/timing.py: intervals, the periodic grid, backoff, rate windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.domain.timing import (
    MAX_INTERVAL_MS,
    backoff_s,
    next_grid_slot,
    parse_interval_ms,
    rate_window_start,
    seconds_until,
)

T0 = datetime(2026, 1, 1, 12, 0, 0, 250_000, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1s", 1_000), ("30s", 30_000), ("5m", 300_000), ("1h", 3_600_000),
        ("90m", 5_400_000), ("9999999999s", 9_999_999_999_000),
        ("0s", None), ("10", None), ("10d", None), ("abc", None), ("-5s", None),
        ("1.5s", None), (" 5s", None), ("5s ", None), ("5s\n", None), ("05s", None),
        ("5S", None), ("s", None), ("", None), ("5 s", None), ("+5s", None),
        ("10000000000s", None), ("1e3s", None), ("5ms", None),
    ],
)
def test_parse_interval_ms(text: str, expected: int | None) -> None:
    assert parse_interval_ms(text) == expected


def test_max_interval_is_366_days() -> None:
    assert MAX_INTERVAL_MS == parse_interval_ms(f"{366 * 24}h")


@pytest.mark.parametrize(
    ("now_s", "slot_s"),
    [
        (-100, 10),     # before creation: never earlier than created_at + interval
        (0, 10),
        (9.999, 10),
        (10, 20),       # exactly on a slot: the next one
        (10.001, 20),
        (19.999, 20),
        (20, 30),
        (55, 60),       # slots 20..50 were missed: they collapse into one run
        (3_600, 3_610),
    ],
)
def test_next_grid_slot(now_s: float, slot_s: float) -> None:
    assert next_grid_slot(T0, 10_000, at(now_s)) == at(slot_s)


def test_next_grid_slot_stays_on_the_grid_with_odd_intervals() -> None:
    interval_ms = 7_333
    now = at(1_000)

    slot = next_grid_slot(T0, interval_ms, now)

    steps, remainder = divmod((slot - T0) // timedelta(milliseconds=1), interval_ms)
    assert remainder == 0
    assert now < slot <= now + timedelta(milliseconds=interval_ms)
    assert steps == 1_000_000 // interval_ms + 1


@pytest.mark.parametrize(
    ("retries_left", "expected"),
    [(4, 4.0), (3, 9.0), (2, 16.0), (1, 25.0), (6, 4.0), (10, 4.0)],
)
def test_backoff(retries_left: int, expected: float) -> None:
    assert backoff_s(retries_left) == expected


def test_backoff_scale() -> None:
    assert backoff_s(4, scale=0.5) == 2.0
    assert backoff_s(2, scale=0.01) == pytest.approx(0.16)
    assert backoff_s(3, scale=0) == 0.0


@pytest.mark.parametrize(
    ("now", "window_s", "start"),
    [
        (datetime(2026, 1, 1, 12, 34, 56, 789_000, tzinfo=UTC), 60,
         datetime(2026, 1, 1, 12, 34, tzinfo=UTC)),
        (datetime(2026, 1, 1, 12, 34, tzinfo=UTC), 60,
         datetime(2026, 1, 1, 12, 34, tzinfo=UTC)),
        (datetime(2026, 1, 1, 12, 34, 59, 999_000, tzinfo=UTC), 60,
         datetime(2026, 1, 1, 12, 34, tzinfo=UTC)),
        (datetime(2026, 1, 1, 12, 34, 56, tzinfo=UTC), 10,
         datetime(2026, 1, 1, 12, 34, 50, tzinfo=UTC)),
    ],
)
def test_rate_window_start(now: datetime, window_s: int, start: datetime) -> None:
    got = rate_window_start(now, window_s)

    assert got == start
    assert got.utcoffset() == timedelta(0)


def test_rate_window_start_is_absolute_across_timezones() -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 1, 1, 14, 34, 56, tzinfo=plus_two)

    assert rate_window_start(local) == datetime(2026, 1, 1, 12, 34, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(None, 0.0), (at(-5), 0.0), (at(0), 0.0), (at(2.5), 2.5), (at(3_600), 3_600.0)],
)
def test_seconds_until(moment: datetime | None, expected: float) -> None:
    assert seconds_until(moment, T0) == expected
