"""A workflow as its client defines it, before the service checks and stores it."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.models import Action, TriggerType
from shared.domain.retry_policy import RetrySpec


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
    retry: RetrySpec | None = None  # absent: the v1 policy
