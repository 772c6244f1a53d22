"""Cron slots in a time zone, with the DST rules of SPEC section 10.

Parsing and matching are cronsim's (5 fields: ranges, steps, lists, month and day names).
On top of it, one rule of ours: a wall-clock time repeated when the clocks go back runs
once (cronsim, like Debian's cron, repeats sub-hourly schedules in the repeated hour).
A time skipped when the clocks go forward runs at the first instant after the gap
(cronsim's behaviour already).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

MAX_SLOTS_SCANNED = 10_000  # a repeated hour holds at most 60 minute slots


class CronError(ValueError):
    """An invalid cron expression or time zone; the message says which and why."""


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A validated expression and its zone."""

    expression: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_cron(expression: str, timezone: str = "UTC") -> CronSpec:
    """Validate both parts; raise `CronError` naming the bad one."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"unknown time zone {timezone!r} (use an IANA name)") from exc
    if len(expression.split()) != 5:
        raise CronError(f"cron {expression!r} must have 5 fields (minute hour day month weekday)")
    try:
        next(iter(CronSim(expression, datetime(2000, 1, 1, tzinfo=zone))))
    except CronSimError as exc:
        raise CronError(f"invalid cron {expression!r}: {exc}") from exc
    except StopIteration as exc:
        raise CronError(f"cron {expression!r} never matches") from exc
    return CronSpec(expression=expression, timezone=timezone)


def next_cron_slot(spec: CronSpec, after: datetime) -> datetime:
    """The first slot strictly after `after`, as an aware UTC datetime."""
    zone = spec.zone
    slots = CronSim(spec.expression, after.astimezone(zone))
    for _ in range(MAX_SLOTS_SCANNED):
        slot = next(slots)
        if not _second_occurrence(slot, zone):
            return slot.astimezone(UTC)
    raise CronError(f"cron {spec.expression!r} found no slot after {after.isoformat()}")


def _second_occurrence(slot: datetime, zone: ZoneInfo) -> bool:
    """True for the later instance of a wall-clock time that the clocks went back over."""
    wall = slot.replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    if first == second:
        return False
    offset = slot.utcoffset() or timedelta(0)
    return offset == second
