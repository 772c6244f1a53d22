"""Pure time arithmetic: intervals, the periodic grid, retry backoff, rate windows."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_INTERVAL = re.compile(r"^([1-9][0-9]{0,9})([smh])$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000}
_DURATION = re.compile(r"^([1-9][0-9]{0,9})([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
MAX_INTERVAL_MS = 366 * 24 * 3_600_000


def to_ms(moment: datetime) -> datetime:
    """Truncate to the millisecond precision BSON dates keep."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_interval_ms(text: str) -> int | None:
    """`"30s"`, `"5m"`, `"1h"` -> milliseconds; None for anything else."""
    match = _INTERVAL.fullmatch(text)
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_duration_s(text: str) -> int | None:
    """`"30d"`, `"12h"`, `"90m"`, `"45s"` -> seconds; None for anything else."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def next_grid_slot(created_at: datetime, interval_ms: int, now: datetime) -> datetime:
    """First `created_at + k * interval` strictly after `now` (k >= 1)."""
    interval = timedelta(milliseconds=interval_ms)
    if now < created_at + interval:
        return created_at + interval
    elapsed_ms = (now - created_at) // timedelta(milliseconds=1)
    k = elapsed_ms // interval_ms + 1
    return created_at + k * interval


def backoff_s(retries_left: int, *, scale: float = 1.0) -> float:
    """Delay before the retry of an attempt made with `retries_left` attempts left.

    The original's formula: 4 s, 9 s, 16 s for the default 4 attempts.
    """
    ceiling = 6 if retries_left < 6 else retries_left + 2
    return scale * float((ceiling - retries_left) ** 2)


def rate_window_start(now: datetime, window_s: int = 60) -> datetime:
    """Start of the fixed rate-limit window containing `now`."""
    epoch_s = int(now.timestamp())
    return datetime.fromtimestamp(epoch_s - epoch_s % window_s, tz=now.tzinfo)


def seconds_until(moment: datetime | None, now: datetime) -> float:
    """Seconds from `now` to `moment`; 0 when due or absent."""
    if moment is None:
        return 0.0
    return max(0.0, (moment - now).total_seconds())
