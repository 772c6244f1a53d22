"""What the dispatcher and every kind's handler share: the ports and the recorded result."""

from __future__ import annotations

from typing import Protocol, TypeVar

from shared.actions import Action, ActionBase
from shared.domain.models import ActionResult, ActionResultStatus
from shared.infra.redact import mask_credentials

A_contra = TypeVar("A_contra", bound=ActionBase, contravariant=True)


class ActionRunner(Protocol):
    """Runs any stored action: what the worker calls."""

    async def run(self, action: Action) -> ActionResult: ...


class ActionHandler(Protocol[A_contra]):
    """Runs the actions of one kind."""

    async def run(self, action: A_contra) -> ActionResult: ...


def action_result(action: ActionBase, ok: bool, logs: str) -> ActionResult:
    """The recorded result: what it records never holds the userinfo of a URL."""
    status = ActionResultStatus.OK if ok else ActionResultStatus.FAILED
    return ActionResult(action_id=action.action_id, status=status, logs=mask_credentials(logs))
