"""The `log` action kind: writes its message to the runner's log."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from shared.actions.base import ActionBase, ActionSpec


class LogAction(ActionBase):
    """A stored `log` action."""

    type: Literal["log"] = "log"
    message: str


class LogActionIn(ActionSpec):
    # A `log` action in a request body (no docstring: it would be published as the schema's
    # description).

    type: Literal["log"]
    message: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]

    def to_action(self, action_id: int) -> LogAction:
        """The stored action."""
        return LogAction(action_id=action_id, message=self.message)
