"""The `delay` kind: over once its wake time has passed; until then the execution is parked."""

from __future__ import annotations

from datetime import datetime

from runner_svc.actions.base import action_result
from runner_svc.actions.waits import Done, Park, WaitStep
from shared.actions import DelayAction
from shared.domain.models import ActionWait, WaitReason


def decide_delay(action: DelayAction, wait: ActionWait | None, now: datetime) -> WaitStep:
    """Park until the wake time (set when the delay began), then succeed."""
    if wait is None:
        wait = ActionWait(reason=WaitReason.DELAY, until=action.wake_at(now), started_at=now)
    if wait.until is not None and now < wait.until:
        return Park(wait)
    what = action.duration or f"until {action.until.isoformat() if action.until else '?'}"
    return Done(action_result(action, True, f"delay: waited {what}"), wait.started_at)
