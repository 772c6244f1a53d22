"""Every state change of a stored workflow, once, as data (SPEC sections 2, 5, 6 and 12).

`status` is the dispatch state (active = idle, scheduled = a request is on its way,
locked = a runner executes it); `trigger.status` says why the execution it names is not
over (busy: queued or running; pending: waiting for its retry; waiting: parked on a delay
or a signal). The adapters turn each transition into one compare-and-set. The queries that select
workflows for them are in `queries.py`.
"""

from __future__ import annotations

from shared.domain.lifecycle.fields import (
    ARCHIVED_AT,
    CLAIM_ID,
    EXECUTION_ID,
    FRESH_EXECUTION,
    INPUT_REQUIRED,
    INTERRUPTED_ATTEMPTS,
    LOCK,
    LOCK_EXPIRES_AT,
    LOCK_TOKEN,
    NEXT_RUN,
    PAUSED_AT,
    RATE,
    RATE_COUNT,
    RATE_WINDOW_START,
    RUN_INPUT,
    SCHEDULED_AT,
    STATUS,
    TRIGGER_STATUS,
    TRIGGER_TYPE,
    UPDATED_AT,
    VERSION,
)
from shared.domain.lifecycle.language import (
    Compare,
    CountInWindow,
    Inc,
    Param,
    Set,
    Transition,
    Unset,
    any_of,
    eq,
    is_null,
    lt,
    ne,
    not_null,
    one_of,
)
from shared.domain.lifecycle.queries import ACTIVE, DISPATCHABLE, LOCKED, SCHEDULED, WAITING
from shared.domain.models import TriggerStatus, TriggerType
from shared.domain.versions import definition_fields, trigger_definition_fields

BUSY, PENDING = TriggerStatus.BUSY, TriggerStatus.PENDING

# A claim without input (`input_given` False) is refused, unread, by a workflow that
# requires one; the service explains the refusal (a 400 naming the input).
_IDLE_MANUAL = (
    *DISPATCHABLE, eq(TRIGGER_TYPE, TriggerType.MANUAL), is_null(TRIGGER_STATUS),
    one_of(INPUT_REQUIRED, False, None, Param("input_given")),
)
_DISPATCH = (
    Set(STATUS, SCHEDULED), Set(SCHEDULED_AT, Param("now")), Set(TRIGGER_STATUS, BUSY),
    Set(EXECUTION_ID, Param("execution_id")),
)
_UNDO = (
    Set(STATUS, ACTIVE), Set(TRIGGER_STATUS, None), Set(EXECUTION_ID, None),
    Set(SCHEDULED_AT, None),
)
_CLAIMED = (eq(STATUS, SCHEDULED), eq(EXECUTION_ID, Param("execution_id")))
_HELD = (eq(STATUS, LOCKED), eq(LOCK_TOKEN, Param("token")))
_UNLOCK = (Set(STATUS, ACTIVE), Set(LOCK, None), Set(SCHEDULED_AT, None))

# Whether the execution a dispatch names is a new one (the runner may defer its insert).
_NEW = Set(FRESH_EXECUTION, True)
_CONTINUED = Set(FRESH_EXECUTION, False)

# The API's manual trigger: an idle manual workflow -> scheduled, busy, naming the execution.
_CLAIM_INPUT = Set(RUN_INPUT, Param("input"))
CLAIM_TRIGGER = Transition("claim trigger", _IDLE_MANUAL, (*_DISPATCH, _CLAIM_INPUT, _NEW))
# The same within a rate limit: a new window, or one with room left, which counts it.
CLAIM_TRIGGER_RATED = Transition(
    "claim trigger within the rate limit",
    (*_IDLE_MANUAL, any_of(
        (ne(RATE_WINDOW_START, Param("window_start")),),
        (lt(RATE_COUNT, Param("rate_limit")),),
    )),
    (*_DISPATCH, _CLAIM_INPUT, _NEW, CountInWindow(RATE, Param("window_start"))),
)
# A claim whose request could not be produced goes back to idle; in its window it is
# given back to the rate limit (tried first), in a later one there is nothing to give back.
UNDO_TRIGGER_IN_WINDOW = Transition(
    "undo trigger claim in its window",
    (*_CLAIMED, eq(RATE_WINDOW_START, Param("window_start"))), (*_UNDO, Inc(RATE_COUNT, -1)),
)
UNDO_TRIGGER = Transition("undo trigger claim", _CLAIMED, _UNDO)
# The scheduler's claims and the runner's releases stamp a fresh `claim_id`: a batch of
# them applied in one bulk write reads back which ones won (a retry or a wake keeps its
# execution id, so that id cannot tell; see `MongoWorkflowRepository._apply_many`).
_STAMP = Set(CLAIM_ID, Param("claim_id"))
# The scheduler's dispatch of a due workflow, still as it observed it.
CLAIM_DUE = Transition(
    "claim due",
    (*DISPATCHABLE, eq(NEXT_RUN, Param("observed_next_run")),
     eq(TRIGGER_STATUS, Param("observed_trigger_status"))),
    (*_DISPATCH, Set(NEXT_RUN, Param("next_run")), _STAMP,
     Set(FRESH_EXECUTION, Param("fresh_execution"))),
)
# A slot missed for longer than the catch-up window: not run, the workflow waits for the next.
PASS_DUE = Transition(
    "pass due slot",
    (*DISPATCHABLE, eq(NEXT_RUN, Param("observed_next_run")), is_null(TRIGGER_STATUS)),
    (Set(NEXT_RUN, Param("next_run")),),
)
# A scheduled workflow whose request got lost is re-armed (the scheduler sends it again).
REFRESH_SCHEDULED = Transition(
    "refresh stuck scheduled",
    (eq(STATUS, SCHEDULED), eq(SCHEDULED_AT, Param("observed_scheduled_at"))),
    (Set(SCHEDULED_AT, Param("now")),),
)
LOCK_FOR_RUN = Transition(
    "lock",
    (eq(STATUS, SCHEDULED), is_null(ARCHIVED_AT)),
    (Set(STATUS, LOCKED),
     Set(LOCK, {"token": Param("token"), "expires_at": Param("lease_until")})),
)
EXTEND_LEASE = Transition(
    "extend lease", (eq(LOCK_TOKEN, Param("token")),),
    (Set(LOCK_EXPIRES_AT, Param("lease_until")),),
)
# Stamped as the claims are: concurrent releases go as one batch (`Coalescer`).
RELEASE = Transition(
    "release", _HELD,
    (*_UNLOCK, Set(TRIGGER_STATUS, Param("trigger_status")), Set(NEXT_RUN, Param("next_run")),
     Set(EXECUTION_ID, Param("execution_id")),
     Set(INTERRUPTED_ATTEMPTS, Param("interrupted_attempts")), _STAMP),
)
# A runner lost with its lease: its attempt counts as interrupted and is dispatched again.
RECOVER_LOCK = Transition(
    "recover expired lock",
    (eq(STATUS, LOCKED), eq(LOCK_TOKEN, Param("observed_token"))),
    (Set(STATUS, SCHEDULED), Set(SCHEDULED_AT, Param("now")), Set(LOCK, None),
     Inc(INTERRUPTED_ATTEMPTS, 1)),
)
# Archiving a workflow that is not running also drops a dispatch or a retry that is waiting;
# the execution id stays, naming the execution to settle (CLEAR_ARCHIVED_EXECUTION).
ARCHIVE_IDLE = Transition(
    "archive idle",
    (is_null(ARCHIVED_AT), ne(STATUS, LOCKED)),
    (Set(ARCHIVED_AT, Param("now")), Set(NEXT_RUN, None), Set(STATUS, ACTIVE),
     Set(TRIGGER_STATUS, None)),
)
# Tried after ARCHIVE_IDLE: a running workflow is left to its runner's release.
ARCHIVE = Transition(
    "archive", (is_null(ARCHIVED_AT),), (Set(ARCHIVED_AT, Param("now")), Set(NEXT_RUN, None)),
)
CLEAR_ARCHIVED_EXECUTION = Transition(
    "clear archived execution",
    (not_null(ARCHIVED_AT), ne(STATUS, LOCKED), eq(EXECUTION_ID, Param("execution_id"))),
    (Set(STATUS, ACTIVE), Set(SCHEDULED_AT, None), Set(TRIGGER_STATUS, None),
     Set(NEXT_RUN, None), Set(EXECUTION_ID, None), Set(INTERRUPTED_ATTEMPTS, 0)),
)

# Part II (SPEC 12). A paused workflow is not dispatched; what runs finishes.
PAUSE = Transition(
    "pause", (is_null(ARCHIVED_AT), is_null(PAUSED_AT)), (Set(PAUSED_AT, Param("now")),),
)
# Resuming recomputes the next run from now: slots missed while paused are not caught up.
RESUME = Transition(
    "resume", (is_null(ARCHIVED_AT), not_null(PAUSED_AT), is_null(TRIGGER_STATUS)),
    (Unset(PAUSED_AT), Set(NEXT_RUN, Param("next_run"))),
)
# An execution still in progress or waiting keeps its next run (its retry's or its wake-up's).
RESUME_IN_PROGRESS = Transition(
    "resume with an execution in progress",
    (is_null(ARCHIVED_AT), not_null(PAUSED_AT), not_null(TRIGGER_STATUS)), (Unset(PAUSED_AT),),
)
# A running execution parks on a delay or a signal: the runner lets go, the workflow keeps
# the execution and wakes at `wake_at` (None: only a signal wakes it).
WAIT = Transition(
    "wait", _HELD,
    (*_UNLOCK, Set(TRIGGER_STATUS, WAITING), Set(NEXT_RUN, Param("wake_at")),
     Set(INTERRUPTED_ATTEMPTS, 0)),
)
# A signal (or the timer) dispatches the waiting execution again.
WAKE = Transition(
    "wake",
    (*DISPATCHABLE, eq(TRIGGER_STATUS, WAITING), eq(EXECUTION_ID, Param("execution_id"))),
    (Set(STATUS, SCHEDULED), Set(SCHEDULED_AT, Param("now")), Set(TRIGGER_STATUS, BUSY),
     Set(NEXT_RUN, Param("next_run")), _STAMP, _CONTINUED),
)
# A signal delivered while its workflow is paused (WAKE is refused): its wake falls due now,
# so once resumed (RESUME_IN_PROGRESS keeps the next run) the scheduler's WAKING finds it.
WAKE_ON_RESUME = Transition(
    "wake on resume",
    (is_null(ARCHIVED_AT), not_null(PAUSED_AT), eq(TRIGGER_STATUS, WAITING),
     eq(EXECUTION_ID, Param("execution_id"))),
    (Set(NEXT_RUN, Param("now")),),
)
# Cancelling an execution that waits (backoff, delay, signal) releases its workflow at once.
CANCEL_WAITING = Transition(
    "cancel waiting execution",
    (eq(STATUS, ACTIVE), one_of(TRIGGER_STATUS, PENDING, WAITING),
     eq(EXECUTION_ID, Param("execution_id"))),
    (Set(TRIGGER_STATUS, None), Set(EXECUTION_ID, None), Set(NEXT_RUN, Param("next_run")),
     Set(INTERRUPTED_ATTEMPTS, 0)),
)

# Retrying a failed or cancelled execution dispatches it again on an idle workflow.
CLAIM_RETRY = Transition(
    "claim retry", (*DISPATCHABLE, is_null(TRIGGER_STATUS)), (*_DISPATCH, _CONTINUED)
)


def _redefine(name: str, trigger_status: Compare, *extra: Set) -> Transition:
    # A PUT replaces every definition field (`shared.domain.versions`), as one compare-and-set
    # on the version it read; a workflow stored before versions has none (it is version 1).
    fields = (*definition_fields(), *(f"trigger.{f}" for f in trigger_definition_fields()))
    return Transition(name, (
        is_null(ARCHIVED_AT), trigger_status,
        any_of((eq(VERSION, Param("version")),), (eq(VERSION, Param("unversioned")),)),
    ), (
        *(Set(field, Param(field)) for field in fields), Set(VERSION, Param("new_version")),
        Set(UPDATED_AT, Param("now")), *extra,
    ))


# Idle, its next run follows the new trigger; else it is the execution's (retry, wake-up).
REDEFINE_IDLE = _redefine(
    "redefine idle", is_null(TRIGGER_STATUS), Set(NEXT_RUN, Param("next_run"))
)
REDEFINE_IN_PROGRESS = _redefine("redefine with an execution in progress",
                                 not_null(TRIGGER_STATUS))

TRANSITIONS = (
    CLAIM_TRIGGER, CLAIM_TRIGGER_RATED, UNDO_TRIGGER_IN_WINDOW, UNDO_TRIGGER, CLAIM_DUE,
    PASS_DUE, REFRESH_SCHEDULED, LOCK_FOR_RUN, EXTEND_LEASE, RELEASE, RECOVER_LOCK, ARCHIVE_IDLE,
    ARCHIVE, CLEAR_ARCHIVED_EXECUTION, PAUSE, RESUME, WAIT, WAKE, WAKE_ON_RESUME, CANCEL_WAITING,
    RESUME_IN_PROGRESS, CLAIM_RETRY, REDEFINE_IDLE, REDEFINE_IN_PROGRESS,
)
