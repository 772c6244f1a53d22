"""What every action kind shares: the stored action's common fields, the request's rules."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.graph import NAME
from shared.domain.retry_policy import RetrySpec

ActionName = Annotated[str, Field(pattern=NAME.pattern, max_length=64)]


class ActionBase(BaseModel):
    """A stored action's common fields; `action_id` is 1-based and follows definition order.

    `name`, `depends_on` and `retry` are SPEC section 9's (Part II); absent on v1 actions.
    """

    # Stored documents may carry fields of an older shape: ignored, never an error.
    model_config = ConfigDict(extra="ignore")

    action_id: int
    name: str | None = None
    depends_on: list[str] | None = None
    retry: RetrySpec | None = None


class ActionSpec(BaseModel):
    """An action in a request body: its kind's fields, validated; nothing else accepted."""

    # Only the documented names: an unknown field is a 400 naming it.
    model_config = ConfigDict(extra="forbid")
    # The stored model `to_action` builds (each kind sets its own).
    stored: ClassVar[type[ActionBase]] = ActionBase

    name: ActionName | None = Field(
        None, description="unique in the workflow; default action-<action_id>"
    )
    depends_on: list[ActionName] | None = Field(
        None, max_length=100,
        description="names of the actions it waits for; absent: the action before; []: a root",
    )
    retry: RetrySpec | None = None

    def common_fields(self) -> dict[str, Any]:
        """The fields every kind shares (`name`, `depends_on`, `retry`), for a `to_action`."""
        return {"name": self.name, "depends_on": self.depends_on, "retry": self.retry}

    def to_action(self, action_id: int) -> ActionBase:
        """The domain action this request defines, numbered `action_id`."""
        fields: dict[str, Any] = self.model_dump(exclude_none=True)
        return self.stored.model_validate({**fields, "action_id": action_id})
