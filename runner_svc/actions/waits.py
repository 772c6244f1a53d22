"""What a wait kind decides each time its action is ready: park the execution, or be done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runner_svc.actions.base import action_result
from shared.actions import ActionBase
from shared.domain.models import ActionResult, ActionWait


@dataclass(frozen=True, slots=True)
class Park:
    """Not over yet: the execution waits in the database on `wait`."""

    wait: ActionWait


@dataclass(frozen=True, slots=True)
class Done:
    """Over: the run to record (it began when the wait did), with a signal's payload."""

    result: ActionResult
    started_at: datetime
    signal: Any = None


WaitStep = Park | Done


class WaitKindHandler:
    """The dispatcher's entry for a wait kind: the worker parks these (`runner_svc.attempt`),
    so a call here is a wiring error, failed rather than guessed."""

    async def run(self, action: ActionBase) -> ActionResult:
        return action_result(action, False, "a wait action is parked by the worker, not run")
