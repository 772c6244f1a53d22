"""A clock that moves only when told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.timing import to_ms


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = to_ms(start or datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now = to_ms(self._now + timedelta(seconds=seconds))
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = to_ms(moment)
