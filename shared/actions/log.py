"""The `log` action kind: writes its (templated) message to the runner's log."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import StringConstraints

from shared.actions.base import ActionBase, ActionSpec

LogLevel = Literal["info", "warning", "error"]


class LogAction(ActionBase):
    """A stored `log` action."""

    type: Literal["log"] = "log"
    message: str
    level: LogLevel = "info"


class LogActionIn(ActionSpec):
    # A `log` action in a request body (no docstring: it would be published as the schema's
    # description).
    stored: ClassVar[type[ActionBase]] = LogAction

    type: Literal["log"]
    message: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    level: LogLevel | None = None

    def to_action(self, action_id: int) -> LogAction:
        """The stored action."""
        action = super().to_action(action_id)
        assert isinstance(action, LogAction)
        return action
