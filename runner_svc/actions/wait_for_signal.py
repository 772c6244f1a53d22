"""The `wait-for-signal` kind: over when its signal was delivered (ok) or timed out (failed)."""

from __future__ import annotations

from datetime import datetime

from runner_svc.actions.base import action_result
from runner_svc.actions.waits import Done, Park, WaitStep
from shared.actions import WaitForSignalAction
from shared.domain.models import ActionWait, WaitReason


def decide_signal(
    action: WaitForSignalAction, wait: ActionWait | None, now: datetime
) -> WaitStep:
    """Park until the signal is delivered or the timeout passes."""
    if wait is None:
        wait = ActionWait(reason=WaitReason.SIGNAL, signal=action.signal,
                          until=action.deadline(now), started_at=now)
    if wait.delivered:
        logs = f"signal {action.signal!r} received"
        return Done(action_result(action, True, logs), wait.started_at, signal=wait.payload)
    if wait.until is not None and now >= wait.until:
        logs = f"signal {action.signal!r} timed out after {action.timeout}"
        return Done(action_result(action, False, logs), wait.started_at)
    return Park(wait)
