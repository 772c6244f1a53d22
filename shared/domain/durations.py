"""Durations written as text (`"90s"`, `"10m"`, `"2h"`, `"1d"`), as used by Part II fields."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^(0|[1-9][0-9]{0,9})(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_DURATION = timedelta(days=366)


class DurationError(ValueError):
    """Text that is not a duration, or one out of range; the message says which."""


def parse_duration(text: str, *, allow_zero: bool = False,
                   maximum: timedelta = MAX_DURATION) -> timedelta:
    """`"90s"` -> 90 seconds; raise `DurationError` for anything else or out of range."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise DurationError(
            f"{text!r} is not a duration (an integer and a unit: ms, s, m, h or d, e.g. '90s')"
        )
    value_ms = int(match.group(1)) * _UNIT_MS[match.group(2)]
    if value_ms > maximum / timedelta(milliseconds=1):
        raise DurationError(f"{text!r} is longer than the maximum of {maximum.days} days")
    value = timedelta(milliseconds=value_ms)
    if value == timedelta(0) and not allow_zero:
        raise DurationError(f"{text!r} must be longer than zero")
    if value > maximum:
        raise DurationError(f"{text!r} is longer than the maximum of {maximum.days} days")
    return value
