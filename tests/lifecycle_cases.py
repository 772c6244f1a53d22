"""Every lifecycle transition as cases: a workflow it applies to, its arguments, the
workflow after it, and workflows it must refuse. Run on the pure evaluator
(tests/unit/domain/test_lifecycle.py) and on both adapters (tests/contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.actions import LogAction
from shared.domain.lifecycle import transitions as lc
from shared.domain.lifecycle.language import Transition
from shared.domain.models import (
    Lock,
    RateWindow,
    TriggerStatus,
    TriggerType,
    Workflow,
    WorkflowStatus,
)
from shared.domain.versions import definition_fields, trigger_definition_fields
from tests.contract.helpers import at, manual, periodic

ACTIVE, SCHEDULED, LOCKED = WorkflowStatus.ACTIVE, WorkflowStatus.SCHEDULED, WorkflowStatus.LOCKED
BUSY, PENDING, WAITING = TriggerStatus.BUSY, TriggerStatus.PENDING, TriggerStatus.WAITING
ID = "w"


@dataclass(frozen=True)
class Case:
    transition: Transition
    before: Workflow
    params: dict[str, Any]
    after: Workflow
    refused: list[Workflow] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.transition.name


def state(base: Workflow | None = None, /, **fields: Any) -> Workflow:
    """`base` (an idle manual workflow by default) with fields set; trigger ones as `trigger_x`."""
    workflow = (base or manual(ID)).model_copy(deep=True)
    for name, value in fields.items():
        if name.startswith("trigger_"):
            setattr(workflow.trigger, name.removeprefix("trigger_"), value)
        else:
            setattr(workflow, name, value)
    return workflow


def _locked(token: str = "t1", **fields: Any) -> Workflow:
    return state(status=LOCKED, lock=Lock(token=token, expires_at=at(60)), scheduled_at=at(1),
                 trigger_status=BUSY, trigger_execution_id="e1", **fields)


_QUEUED = state(status=SCHEDULED, scheduled_at=at(1), trigger_status=BUSY,
                trigger_execution_id="e1")
_PERIODIC = periodic(ID, at(10))
_WAITING = state(trigger_status=WAITING, trigger_execution_id="e1", trigger_next_run=at(70))
_DISPATCHED: dict[str, Any] = {"status": SCHEDULED, "scheduled_at": at(1), "trigger_status": BUSY,
               "trigger_execution_id": "e1"}
_DISPATCHED_NEW: dict[str, Any] = {**_DISPATCHED, "trigger_fresh_execution": True}
_IDLE: dict[str, Any] = {"status": ACTIVE, "scheduled_at": None, "trigger_status": None,
         "trigger_execution_id": None}
_RATE = RateWindow(window_start=at(0), count=1)
_NO_INPUT: dict[str, Any] = {"input": None, "input_given": False}
_RETRYING = state(trigger_status=PENDING, trigger_execution_id="e1", trigger_next_run=at(9))
_NEW_ACTIONS = [LogAction(action_id=1, message="v2")]
_V2 = state(_PERIODIC, actions=_NEW_ACTIONS, trigger_interval="1m", trigger_interval_ms=60_000)
_V2_DOC = _V2.model_dump()
# A PUT's parameters: every definition field (shared.domain.versions) and the versions.
_REDEFINITION: dict[str, Any] = {
    **{f: _V2_DOC[f] for f in definition_fields()},
    **{f"trigger.{f}": _V2_DOC["trigger"][f] for f in trigger_definition_fields()},
    "version": 1, "unversioned": None, "new_version": 2, "now": at(5),
}
_REDEFINED: dict[str, Any] = {
    "actions": _NEW_ACTIONS, "trigger_type": TriggerType.PERIODIC, "trigger_interval": "1m",
    "trigger_interval_ms": 60_000, "version": 2, "updated_at": at(5),
}

CASES = [
    Case(lc.CLAIM_TRIGGER, state(), {"now": at(1), "execution_id": "e1", **_NO_INPUT},
         state(**_DISPATCHED_NEW),
         [_PERIODIC, state(trigger_status=BUSY), state(trigger_status=PENDING),
          state(status=SCHEDULED), state(status=LOCKED), state(archived_at=at(0)),
          state(paused_at=at(0)), state(trigger_type=TriggerType.PERIODIC),
          state(trigger_input_required=True)]),
    # With input (checked by the service first), a workflow that requires input is claimed.
    Case(lc.CLAIM_TRIGGER, state(trigger_input_required=True, trigger_run_input={"n": 0}),
         {"now": at(1), "execution_id": "e1", "input": {"n": 1}, "input_given": True},
         state(trigger_input_required=True, trigger_run_input={"n": 1}, **_DISPATCHED_NEW),
         [state(trigger_input_required=True, trigger_status=BUSY)]),
    Case(lc.CLAIM_TRIGGER_RATED, state(rate=_RATE),
         {"now": at(1), "execution_id": "e1", "window_start": at(0), "rate_limit": 2, **_NO_INPUT},
         state(rate=RateWindow(window_start=at(0), count=2), **_DISPATCHED_NEW),
         [state(rate=RateWindow(window_start=at(0), count=2)), state(rate=_RATE, paused_at=at(0)),
          state(rate=_RATE, trigger_status=BUSY)]),
    Case(lc.CLAIM_TRIGGER_RATED, state(rate=RateWindow(window_start=at(-60), count=9)),
         {"now": at(1), "execution_id": "e1", "window_start": at(0), "rate_limit": 2, **_NO_INPUT},
         state(rate=RateWindow(window_start=at(0), count=1), **_DISPATCHED_NEW)),
    Case(lc.CLAIM_TRIGGER_RATED, state(),
         {"now": at(1), "execution_id": "e1", "window_start": at(0), "rate_limit": 2, **_NO_INPUT},
         state(rate=RateWindow(window_start=at(0), count=1), **_DISPATCHED_NEW)),
    Case(lc.UNDO_TRIGGER_IN_WINDOW, state(_QUEUED, rate=RateWindow(window_start=at(0), count=2)),
         {"execution_id": "e1", "window_start": at(0)}, state(rate=_RATE, **_IDLE),
         [state(_QUEUED, rate=RateWindow(window_start=at(-60), count=2)), state(_QUEUED),
          state(_QUEUED, rate=_RATE, trigger_execution_id="e2"), state(rate=_RATE)]),
    Case(lc.UNDO_TRIGGER, state(_QUEUED, rate=RateWindow(window_start=at(-60), count=2)),
         {"execution_id": "e1"}, state(rate=RateWindow(window_start=at(-60), count=2), **_IDLE),
         [state(_QUEUED, trigger_execution_id="e2"), _locked(), state()]),
    # A new run of a due workflow: a new execution.
    Case(lc.CLAIM_DUE, _PERIODIC,
         {"observed_next_run": at(10), "observed_trigger_status": None, "now": at(11),
          "execution_id": "e1", "next_run": at(20), "claim_id": "c1", "fresh_execution": True},
         state(_PERIODIC, trigger_next_run=at(20), claim_id="c1",
               **{**_DISPATCHED_NEW, "scheduled_at": at(11)})),
    # A retry continues its execution.
    Case(lc.CLAIM_DUE, state(_PERIODIC, trigger_status=PENDING, trigger_execution_id="e1"),
         {"observed_next_run": at(10), "observed_trigger_status": PENDING, "now": at(11),
          "execution_id": "e1", "next_run": at(20), "claim_id": "c1", "fresh_execution": False},
         state(_PERIODIC, trigger_next_run=at(20), claim_id="c1",
               **{**_DISPATCHED, "scheduled_at": at(11)}),
         [state(_PERIODIC, trigger_status=PENDING, trigger_next_run=at(11)), _PERIODIC,
          state(_PERIODIC, trigger_status=PENDING, archived_at=at(0)),
          state(_PERIODIC, trigger_status=PENDING, paused_at=at(0)),
          state(_PERIODIC, trigger_status=PENDING, status=SCHEDULED)]),
    Case(lc.PASS_DUE, _PERIODIC, {"observed_next_run": at(10), "next_run": at(20)},
         state(_PERIODIC, trigger_next_run=at(20)),
         [state(_PERIODIC, trigger_next_run=at(11)),
          state(_PERIODIC, trigger_status=PENDING, trigger_execution_id="e1"),
          state(_PERIODIC, status=SCHEDULED), state(_PERIODIC, paused_at=at(0)),
          state(_PERIODIC, archived_at=at(0))]),
    Case(lc.REFRESH_SCHEDULED, _QUEUED, {"observed_scheduled_at": at(1), "now": at(40)},
         state(_QUEUED, scheduled_at=at(40)),
         [state(_QUEUED, scheduled_at=at(2)), state(scheduled_at=at(1))]),
    Case(lc.LOCK_FOR_RUN, _QUEUED, {"token": "t1", "lease_until": at(60)}, _locked(),
         [state(), _locked("t0"), state(_QUEUED, archived_at=at(0))]),
    Case(lc.EXTEND_LEASE, _locked(), {"token": "t1", "lease_until": at(120)},
         state(_locked(), lock=Lock(token="t1", expires_at=at(120))), [_locked("t2"), _QUEUED]),
    Case(lc.RELEASE, _locked(),
         {"token": "t1", "trigger_status": PENDING, "next_run": at(5), "execution_id": "e1",
          "interrupted_attempts": 1, "claim_id": "c1"},
         state(trigger_status=PENDING, trigger_next_run=at(5), trigger_execution_id="e1",
               trigger_interrupted_attempts=1, claim_id="c1"),
         [_locked("t2"), state(_QUEUED, lock=Lock(token="t1", expires_at=at(60)))]),
    Case(lc.RECOVER_LOCK, _locked(trigger_interrupted_attempts=1),
         {"observed_token": "t1", "now": at(31)},
         state(_QUEUED, scheduled_at=at(31), trigger_interrupted_attempts=2),
         [_locked("t2"), state(_QUEUED, lock=Lock(token="t1", expires_at=at(60)))]),
    Case(lc.ARCHIVE_IDLE, state(_QUEUED, trigger_next_run=at(9)), {"now": at(2)},
         state(_QUEUED, status=ACTIVE, trigger_status=None, archived_at=at(2)),
         [_locked(), state(archived_at=at(0))]),
    Case(lc.ARCHIVE, _locked(trigger_next_run=at(9)), {"now": at(2)},
         _locked(archived_at=at(2)), [_locked(archived_at=at(0))]),
    Case(lc.CLEAR_ARCHIVED_EXECUTION,
         state(archived_at=at(0), scheduled_at=at(1), trigger_execution_id="e1",
               trigger_interrupted_attempts=2),
         {"execution_id": "e1"}, state(archived_at=at(0)),
         [state(scheduled_at=at(1), trigger_execution_id="e1"), _locked(archived_at=at(0)),
          state(archived_at=at(0), trigger_execution_id="e2")]),
    Case(lc.PAUSE, _PERIODIC, {"now": at(3)}, state(_PERIODIC, paused_at=at(3)),
         [state(_PERIODIC, paused_at=at(1)), state(_PERIODIC, archived_at=at(1))]),
    Case(lc.RESUME, state(_PERIODIC, paused_at=at(3)), {"next_run": at(50)},
         state(_PERIODIC, trigger_next_run=at(50)),
         [_PERIODIC, state(_PERIODIC, paused_at=at(3), archived_at=at(4)),
          state(_PERIODIC, paused_at=at(3), trigger_status=PENDING)]),
    Case(lc.RESUME_IN_PROGRESS, state(_RETRYING, paused_at=at(3)), {}, _RETRYING,
         [_RETRYING, state(paused_at=at(3)), state(_RETRYING, paused_at=at(3),
                                                   archived_at=at(4))]),
    Case(lc.CLAIM_RETRY, state(_PERIODIC, trigger_fresh_execution=True),
         {"now": at(1), "execution_id": "e1"},
         state(_PERIODIC, **_DISPATCHED),
         [_QUEUED, _RETRYING, _locked(), state(paused_at=at(0)), state(archived_at=at(0))]),
    Case(lc.REDEFINE_IDLE, _PERIODIC, {**_REDEFINITION, "next_run": at(60)},
         state(_PERIODIC, **_REDEFINED, trigger_next_run=at(60)),
         [state(_PERIODIC, version=2), state(_PERIODIC, archived_at=at(0)),
          state(_PERIODIC, trigger_status=PENDING)]),
    Case(lc.REDEFINE_IN_PROGRESS, state(_RETRYING, version=2),
         {**_REDEFINITION, "version": 2, "unversioned": 2, "new_version": 3},
         state(_RETRYING, **{**_REDEFINED, "version": 3}),
         [state(_RETRYING, version=1), _PERIODIC, state(_RETRYING, version=2, archived_at=at(0))]),
    Case(lc.WAIT, _locked(trigger_next_run=at(100)), {"token": "t1", "wake_at": at(70)},
         _WAITING, [_locked("t2"), _QUEUED]),
    Case(lc.WAKE, state(_WAITING, trigger_fresh_execution=True),
         {"execution_id": "e1", "now": at(71), "next_run": None, "claim_id": "c1"},
         state(claim_id="c1", **{**_DISPATCHED, "scheduled_at": at(71)}),
         [state(_WAITING, trigger_execution_id="e2"), state(_WAITING, paused_at=at(0)),
          state(_WAITING, archived_at=at(0)), state(_WAITING, trigger_status=PENDING)]),
    Case(lc.WAKE_ON_RESUME, state(_WAITING, paused_at=at(0)), {"execution_id": "e1", "now": at(5)},
         state(_WAITING, paused_at=at(0), trigger_next_run=at(5)),
         [_WAITING, state(_WAITING, paused_at=at(0), trigger_execution_id="e2"),
          state(_WAITING, paused_at=at(0), archived_at=at(1)),
          state(_WAITING, paused_at=at(0), trigger_status=PENDING)]),
    Case(lc.CANCEL_WAITING, _WAITING, {"execution_id": "e1", "next_run": at(100)},
         state(trigger_next_run=at(100)),
         [_locked(), _QUEUED, state(_WAITING, trigger_execution_id="e2")]),
    Case(lc.CANCEL_WAITING,
         state(trigger_status=PENDING, trigger_execution_id="e1", trigger_next_run=at(9),
               trigger_interrupted_attempts=3),
         {"execution_id": "e1", "next_run": None}, state()),
]

