"""The clock and readiness checks."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current UTC time, millisecond precision (what the database stores)."""
        ...


class HealthCheck(Protocol):
    async def __call__(self) -> bool: ...
