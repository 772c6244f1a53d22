"""What every action kind shares: the stored action's common fields, the request's rules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ActionBase(BaseModel):
    """A stored action's common fields; `action_id` is 1-based and follows definition order.

    `name` and `depends_on` are SPEC section 9's (Part II): stored, not yet read or accepted.
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

    def to_action(self, action_id: int) -> ActionBase:
        """The domain action this request defines, numbered `action_id`."""
        raise NotImplementedError
