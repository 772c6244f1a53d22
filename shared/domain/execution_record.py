"""The execution record: per-action state keyed by action name, and what a run still has to do.

`Execution.actions` maps each action's key (its name; `action-<action_id>` for an action
defined without one, as SPEC section 9 names it) to its state and runs. The v1 fields
`executed_actions` and `last_failed_action` are derived from it (see `Execution`). A run
redoes the actions that have not succeeded, never an index: for a v1 chain, whose attempt
stops at the first failure, that is "from the failed action on", as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from shared.domain.graph import NAME, build_nodes, default_name, ready
from shared.domain.models import (
    ActionResult,
    ActionResultStatus,
    ActionRun,
    ActionState,
    ActionStatus,
    ActionWait,
    Execution,
    Waiting,
)


class Keyed(Protocol):
    """What the record needs of an action: its id (and its `name`, once actions have one)."""

    @property
    def action_id(self) -> int: ...


A = TypeVar("A", bound=Keyed)


def action_key(action: Keyed) -> str:
    """The record key of an action: its name, else `action-<action_id>`."""
    name = getattr(action, "name", None) or default_name(action.action_id)
    # The name rule keeps `.` and `$` out, so the key is a safe MongoDB field-path segment.
    if not NAME.fullmatch(name):
        raise ValueError(f"action name {name!r} cannot key an execution record")
    return name


def still_to_run(actions: Sequence[A], execution: Execution) -> list[A]:
    """The actions that have not succeeded, in definition order."""
    return [a for a in actions if not succeeded(execution, action_key(a))]


def ready_to_run(
    actions: Sequence[A], execution: Execution, started: Iterable[str] = ()
) -> list[A]:
    """Actions neither succeeded nor `started` whose dependencies all succeeded, in definition
    order (`depends_on` absent: the action before, so a v1 list stays a chain)."""
    keys = [action_key(a) for a in actions]
    nodes = build_nodes([(key, getattr(a, "depends_on", None)) for key, a in zip(
        keys, actions, strict=True)])
    by_key = dict(zip(keys, actions, strict=True))
    done = [key for key in keys if succeeded(execution, key)]
    return [by_key[key] for key in ready(nodes, done, started)]


def succeeded(execution: Execution, key: str) -> bool:
    """Whether the action keyed `key` has succeeded in this execution."""
    state = execution.actions.get(key)
    return state is not None and state.status == ActionStatus.OK


def begin_attempt(execution: Execution) -> Execution:
    """`execution` at the start of its next attempt: the runs recorded next belong to it."""
    return execution.model_copy(update={"attempt": execution.attempt + 1})


def with_run(
    execution: Execution, action: Keyed, result: ActionResult, *,
    started_at: datetime | None = None, finished_at: datetime | None = None,
    signal: Any = None,
) -> Execution:
    """`execution` with one more run of `action`, in its current attempt."""
    run = ActionRun(
        seq=_next_seq(execution), attempt=execution.attempt, status=result.status,
        logs=result.logs, started_at=started_at, finished_at=finished_at,
        duration_ms=_duration_ms(started_at, finished_at), response=result.response,
        signal=signal,
    )
    actions = _add_run(execution.actions, action_key(action), action.action_id, run)
    return execution.model_copy(update={"actions": actions})


def parked(execution: Execution, action: Keyed, wait: ActionWait) -> Execution:
    """`execution` with `action` parked on `wait` (a delay or a signal still to come)."""
    key = action_key(action)
    state = execution.actions.get(key) or ActionState(action_id=action.action_id)
    updated = state.model_copy(update={"status": ActionStatus.WAITING, "wait": wait})
    return execution.model_copy(update={"actions": {**execution.actions, key: updated}})


def parked_waits(execution: Execution) -> dict[str, ActionWait]:
    """The parked actions' waits, by action key."""
    return {
        key: state.wait for key, state in execution.actions.items()
        if state.status == ActionStatus.WAITING and state.wait is not None
    }


def earliest_wait(execution: Execution) -> Waiting | None:
    """What the execution waits for: its parked wait that ends first (a timer before none)."""
    waits = list(parked_waits(execution).values())
    if not waits:
        return None
    first = min(waits, key=lambda w: (w.until is None, w.until or w.started_at))
    return Waiting(reason=first.reason, until=first.until, signal=first.signal)


def waiting_for_signal(execution: Execution, signal: str) -> str | None:
    """Key of the parked action that waits for `signal` and has not received it, or None."""
    for key, wait in parked_waits(execution).items():
        if wait.signal == signal and not wait.delivered:
            return key
    return None


def failed_in_attempt(execution: Execution) -> int | None:
    """action_id of the action that failed in the current attempt; None if none did."""
    failed = [
        (run.seq, state.action_id) for state in execution.actions.values() for run in state.runs
        if run.attempt == execution.attempt and run.status != ActionResultStatus.OK
    ]
    return max(failed)[1] if failed else None


def attempt_keys(execution: Execution) -> list[str]:
    """Keys of the actions that ran in the current attempt (the entries it changed)."""
    return [
        key for key, state in execution.actions.items()
        if any(run.attempt == execution.attempt for run in state.runs)
    ]


def from_results(results: Iterable[ActionResult | Mapping[str, Any]]) -> dict[str, Any]:
    """A v1 flat list of runs (an old document's `executed_actions`) as record fields.

    Each failure ended an attempt, so a run's attempt is one more than the failures before it.
    """
    actions: dict[str, ActionState] = {}
    attempt = 1
    for seq, item in enumerate(results, start=1):
        result = ActionResult.model_validate(item)
        run = ActionRun(seq=seq, attempt=attempt, status=result.status, logs=result.logs)
        actions = _add_run(actions, default_name(result.action_id), result.action_id, run)
        if result.status != ActionResultStatus.OK:
            attempt += 1
    last = max((run.attempt for state in actions.values() for run in state.runs), default=0)
    return {"actions": actions, "attempt": last}


def _add_run(
    actions: Mapping[str, ActionState], key: str, action_id: int, run: ActionRun
) -> dict[str, ActionState]:
    state = actions.get(key) or ActionState(action_id=action_id)
    updated = state.model_copy(update={
        "status": ActionStatus(run.status.value), "runs": [*state.runs, run], "wait": None,
    })
    return {**actions, key: updated}


def _next_seq(execution: Execution) -> int:
    return 1 + max(
        (run.seq for state in execution.actions.values() for run in state.runs), default=0
    )


def _duration_ms(started_at: datetime | None, finished_at: datetime | None) -> int | None:
    if started_at is None or finished_at is None:
        return None
    return round((finished_at - started_at).total_seconds() * 1000)
