"""The `delay` action kind: a durable wait for a `duration` or `until` a moment (SPEC 11)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from shared.actions.base import ActionBase, ActionSpec
from shared.domain.durations import parse_duration

DURATION = r"^(0|[1-9][0-9]{0,9})(ms|s|m|h|d)$"


class DelayAction(ActionBase):
    """A stored `delay` action: exactly one of `duration` and `until`."""

    type: Literal["delay"] = "delay"
    duration: str | None = None
    until: datetime | None = None

    def wake_at(self, started_at: datetime) -> datetime:
        """When a delay that began at `started_at` is over."""
        if self.until is not None:
            return self.until
        return started_at + parse_duration(self.duration or "0s", allow_zero=True)


class DelayActionIn(ActionSpec):
    # A `delay` action in a request body (no docstring: it would be published as the
    # schema's description).

    type: Literal["delay"]
    duration: str | None = Field(
        None, max_length=16, pattern=DURATION,
        description='how long to wait: an integer and ms, s, m, h or d ("10m"), at most 366d',
    )
    until: AwareDatetime | None = Field(
        None, description="wait until this moment (ISO 8601 with a UTC offset)"
    )

    @field_validator("duration")
    @classmethod
    def _duration(cls, duration: str | None) -> str | None:
        if duration is not None:
            parse_duration(duration, allow_zero=True)
        return duration

    @model_validator(mode="after")
    def _one_of(self) -> DelayActionIn:
        if (self.duration is None) == (self.until is None):
            raise ValueError("a delay takes exactly one of duration and until")
        return self

    def to_action(self, action_id: int) -> DelayAction:
        """The stored action (`until` in UTC)."""
        until = None if self.until is None else self.until.astimezone(UTC)
        return DelayAction(
            action_id=action_id, duration=self.duration, until=until, **self.common_fields()
        )
