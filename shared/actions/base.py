"""What every action kind shares: the stored action's common fields, the request's rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"  # an action's name (SPEC 9)


class ActionBase(BaseModel):
    """A stored action's common fields; `action_id` is 1-based and follows definition order.

    `name` and `depends_on` are SPEC section 9's graph (`shared.domain.graph`).
    """

    # Stored documents may carry fields of an older shape: ignored, never an error.
    model_config = ConfigDict(extra="ignore")

    action_id: int
    name: str | None = None
    depends_on: list[str] | None = None


class ActionSpec(BaseModel):
    """An action in a request body: its kind's fields, validated; nothing else accepted."""

    # Only the documented names: an unknown field is a 400 naming it.
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        None, max_length=64, pattern=NAME_PATTERN,
        description="unique in the workflow; default action-<action_id>",
    )
    depends_on: list[Annotated[str, StringConstraints(pattern=NAME_PATTERN)]] | None = Field(
        None, max_length=100,
        description="names of the actions it waits for; absent: the action before; []: a root",
    )

    def stored(self, action_id: int) -> ActionBase:
        """The domain action, with the fields every kind shares (`name`, `depends_on`)."""
        action = self.to_action(action_id)
        return action.model_copy(update={"name": self.name, "depends_on": self.depends_on})

    def to_action(self, action_id: int) -> ActionBase:
        """The domain action this request defines, numbered `action_id`."""
        raise NotImplementedError
