"""The `kafka-publish` action kind: produces one record (templated key and value) to a topic.

Which topics are allowed is the API's configuration (`KAFKA_PUBLISH_ALLOWED`), checked when
a workflow is created (shared.actions.rules) and again by the runner before it produces.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from shared.actions.base import ActionBase, ActionSpec

# Kafka's legal topic names.
TOPIC = "^[A-Za-z0-9._-]{1,249}$"


class KafkaPublishAction(ActionBase):
    """A stored `kafka-publish` action."""

    type: Literal["kafka-publish"] = "kafka-publish"
    topic: str
    key: str | None = None
    value: Any = None
    headers: dict[str, str] | None = None


class KafkaPublishActionIn(ActionSpec):
    # A `kafka-publish` action in a request body (no docstring: it would be published as the
    # schema's description).
    stored: ClassVar[type[ActionBase]] = KafkaPublishAction

    type: Literal["kafka-publish"]
    topic: Annotated[str, StringConstraints(pattern=TOPIC)]
    key: Annotated[str, StringConstraints(max_length=1024)] | None = None
    value: Any = Field(description="any JSON value (templated), produced as JSON")
    headers: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=256)],
        Annotated[str, StringConstraints(max_length=8192)],
    ] | None = Field(default=None, max_length=50)

    def to_action(self, action_id: int) -> KafkaPublishAction:
        """The stored action."""
        action = super().to_action(action_id)
        assert isinstance(action, KafkaPublishAction)
        return action


def topic_allowed(topic: str, allowed: tuple[str, ...], reserved: frozenset[str]) -> bool:
    """Whether `topic` may be published to: not reserved, and listed by name or by a prefix
    entry ending in `*` (`reports.*`)."""
    if topic in reserved:
        return False
    return any(
        topic.startswith(entry[:-1]) if entry.endswith("*") else topic == entry
        for entry in allowed
    )
