"""A workflow as its client defines it, before the service checks and stores it."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.errors import InvalidInput
from shared.domain.graph import GraphError, build_nodes
from shared.domain.models import Action, TriggerType


@dataclass(frozen=True)
class TriggerSpec:
    """The trigger as defined: its kind and, for a periodic one, its interval string."""

    type: TriggerType
    interval: str | None = None


@dataclass(frozen=True)
class WorkflowDefinition:
    """An id, a trigger whose time rules are still to check, and the numbered actions."""

    workflow_id: str
    trigger: TriggerSpec
    actions: list[Action]

    def __post_init__(self) -> None:
        check_graph(self.actions)


def check_graph(actions: list[Action]) -> None:
    """Raise `InvalidInput` naming the actions unless names and `depends_on` form a DAG."""
    try:
        build_nodes([(a.name, a.depends_on) for a in actions])
    except GraphError as exc:
        raise InvalidInput(f"actions: {exc}") from exc
