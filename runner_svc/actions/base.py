"""What the dispatcher and every kind's handler share: the ports and the recorded result."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from shared.actions import Action, ActionBase
from shared.domain.models import ActionResult, ActionResultStatus
from shared.domain.run_context import RunContext
from shared.infra.redact import mask_credentials

A_contra = TypeVar("A_contra", bound=ActionBase, contravariant=True)


class ActionRunner(Protocol):
    """Runs any stored action in its run context: what the worker calls."""

    async def run(self, action: Action, context: RunContext) -> ActionResult: ...


class ActionHandler(Protocol[A_contra]):
    """Runs the actions of one kind."""

    async def run(self, action: A_contra, context: RunContext) -> ActionResult: ...


def action_result(
    action: ActionBase, ok: bool, logs: str, response: dict[str, Any] | None = None
) -> ActionResult:
    """The recorded result: what it records never holds the userinfo of a URL."""
    status = ActionResultStatus.OK if ok else ActionResultStatus.FAILED
    return ActionResult(
        action_id=action.action_id, status=status, logs=mask_credentials(logs),
        response=response,
    )


def masked(result: ActionResult, context: RunContext) -> ActionResult:
    """`result` with every secret value of `context` replaced by `***` (logs and response)."""
    if not context.secret_values:
        return result
    return result.model_copy(update={
        "logs": context.mask(result.logs), "response": context.mask_value(result.response),
    })
