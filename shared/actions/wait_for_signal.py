"""The `wait-for-signal` action kind: a durable wait for `POST .../signals/{signal}` (SPEC 11)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from shared.actions.base import ActionBase, ActionSpec
from shared.domain.durations import parse_duration

SIGNAL = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
TIMEOUT = r"^[1-9][0-9]{0,9}(ms|s|m|h|d)$"


class WaitForSignalAction(ActionBase):
    """A stored `wait-for-signal` action; no `timeout`: it waits until the signal comes."""

    type: Literal["wait-for-signal"] = "wait-for-signal"
    signal: str
    timeout: str | None = None

    def deadline(self, started_at: datetime) -> datetime | None:
        """When a wait that began at `started_at` times out (None: never)."""
        if self.timeout is None:
            return None
        return started_at + parse_duration(self.timeout)


class WaitForSignalActionIn(ActionSpec):
    # A `wait-for-signal` action in a request body (no docstring: it would be published as
    # the schema's description).

    type: Literal["wait-for-signal"]
    signal: str = Field(
        max_length=64, pattern=SIGNAL,
        description="the signal's name, as in POST /executions/{id}/signals/{signal}",
    )
    timeout: str | None = Field(
        None, max_length=16, pattern=TIMEOUT,
        description='fail the action if no signal came within this long ("24h"), at most 366d',
    )

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, timeout: str | None) -> str | None:
        if timeout is not None:
            parse_duration(timeout)
        return timeout

    def to_action(self, action_id: int) -> WaitForSignalAction:
        """The stored action."""
        return WaitForSignalAction(
            action_id=action_id, signal=self.signal, timeout=self.timeout,
            **self.common_fields(),
        )
