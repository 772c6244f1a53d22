"""ActionDispatcher: each action to the handler of its kind, timed; no handler is a failure."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from runner_svc.actions.base import ActionHandler, action_result, masked
from runner_svc.secrets import NoSecrets, SecretSource
from shared.actions import Action
from shared.domain.models import ActionResult
from shared.domain.run_context import RunContext
from shared.infra.logs import get_logger
from shared.infra.metrics import ACTION_DURATION
from shared.infra.tracing import span

log = get_logger(__name__)


class ActionDispatcher:
    """ActionRunner over a table of handlers keyed by action `type` (built in runner_svc.main).

    It adds the secrets (read from `secrets` on every run, never stored) to each action's
    context and masks their values in the result it hands back to be recorded."""

    def __init__(
        self, handlers: Mapping[str, ActionHandler[Any]], secrets: SecretSource | None = None
    ) -> None:
        self._handlers = dict(handlers)
        self._secrets = secrets or NoSecrets()

    @property
    def kinds(self) -> list[str]:
        """The action types it has a handler for."""
        return sorted(self._handlers)

    async def run(self, action: Action, context: RunContext | None = None) -> ActionResult:
        started = time.perf_counter()
        context = (context or RunContext()).with_secrets(self._secrets.read())
        handler = self._handlers.get(action.type)
        with span(
            f"action {action.type}", attributes={"action.id": action.action_id}
        ) as action_span:
            if handler is None:
                result = self._unhandled(action)
            else:
                result = masked(await handler.run(action, context), context)
            action_span.set_attribute("action.status", result.status.value)
        ACTION_DURATION.labels(action.type, result.status.value).observe(
            time.perf_counter() - started
        )
        return result

    def _unhandled(self, action: Action) -> ActionResult:
        # A kind stored by a newer API than this runner: fail it, never guess another kind.
        log.error("no handler for action type", action_id=action.action_id,
                  action_type=action.type, known_types=self.kinds)
        return action_result(
            action, False, f"action type {action.type!r} has no handler in this runner"
        )
