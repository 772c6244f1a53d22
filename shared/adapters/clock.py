"""The system clock: wall-clock UTC at the precision the database stores."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain.timing import to_ms


class SystemClock:
    """Wall-clock UTC time, truncated to milliseconds."""

    def now(self) -> datetime:
        return to_ms(datetime.now(UTC))
