"""A workflow as its client defines it, before the service checks and stores it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.errors import InvalidInput
from shared.domain.graph import GraphError, build_nodes
from shared.domain.inputs import InputSpec
from shared.domain.models import Action, TriggerType
from shared.domain.retry_policy import RetrySpec


@dataclass(frozen=True)
class TriggerSpec:
    """The trigger as defined: its kind and its fields, their time rules still to check."""

    type: TriggerType
    interval: str | None = None
    cron: str | None = None
    timezone: str | None = None
    at: str | None = None  # ISO 8601 with an offset
    after: str | None = None  # a duration, "90s"
    input: dict[str, Any] | None = None


@dataclass(frozen=True)
class WorkflowDefinition:
    """An id, a trigger whose time rules are still to check, and the numbered actions."""

    workflow_id: str
    trigger: TriggerSpec
    actions: list[Action]
    retry: RetrySpec | None = None  # absent: the v1 policy
    inputs: dict[str, InputSpec] | None = None
    overlap: str | None = None  # "skip" | "buffer_one"; None: skip
    catchup_window: str | None = None  # a duration; None: "1h"
    description: str | None = None  # free text (SPEC 9)
    labels: dict[str, str] | None = None  # e.g. managed-by: wfa (SPEC 13's apply --prune)

    def __post_init__(self) -> None:
        check_graph(self.actions)


def check_graph(actions: list[Action]) -> None:
    """Raise `InvalidInput` naming the actions unless names and `depends_on` form a DAG."""
    try:
        build_nodes([(a.name, a.depends_on) for a in actions])
    except GraphError as exc:
        raise InvalidInput(f"actions: {exc}") from exc
