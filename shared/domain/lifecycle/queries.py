"""The selections of stored workflows the scheduler and the API make (SPEC sections 5, 6
and 11), once, as data: each adapter turns a query into one find (or count)."""

from __future__ import annotations

from shared.domain.lifecycle.fields import (
    ARCHIVED_AT,
    EXECUTION_ID,
    LOCK_EXPIRES_AT,
    NEXT_RUN,
    PAUSED_AT,
    SCHEDULED_AT,
    STATUS,
    TRIGGER_STATUS,
    WORKFLOW_ID,
)
from shared.domain.lifecycle.language import (
    Param,
    Query,
    any_of,
    eq,
    gt,
    is_null,
    le,
    ne,
    not_null,
)
from shared.domain.models import TriggerStatus, WorkflowStatus

ACTIVE, SCHEDULED, LOCKED = WorkflowStatus.ACTIVE, WorkflowStatus.SCHEDULED, WorkflowStatus.LOCKED
WAITING = TriggerStatus.WAITING
# Neither archived nor paused, and idle: what a dispatch (query or transition) requires.
DISPATCHABLE = (is_null(ARCHIVED_AT), is_null(PAUSED_AT), eq(STATUS, ACTIVE))

# Waiting executions are woken by WAKING, not dispatched as a new run.
DUE = Query(
    "due", (*DISPATCHABLE, ne(TRIGGER_STATUS, WAITING), le(NEXT_RUN, Param("now"))),
    (NEXT_RUN, WORKFLOW_ID),
)
# The next page of DUE after the (next_run, workflow_id) of the last one seen.
DUE_AFTER = Query(
    "due after",
    (*DUE.where, any_of(
        (gt(NEXT_RUN, Param("after_next_run")),),
        (eq(NEXT_RUN, Param("after_next_run")), gt(WORKFLOW_ID, Param("after_id"))),
    )),
    DUE.order,
)
WAKING = Query(
    "waking", (*DISPATCHABLE, eq(TRIGGER_STATUS, WAITING), le(NEXT_RUN, Param("now"))),
    (NEXT_RUN, WORKFLOW_ID),
)
WAKING_AFTER = Query(
    "waking after", (*WAKING.where, *DUE_AFTER.where[len(DUE.where):]), WAKING.order,
)
# Runs dispatched before `older_than` that no runner has claimed yet: the scheduler re-sends
# those older than SCHEDULED_TIMEOUT_S (stuck), the API's admission counts those older than
# API_MAX_QUEUE_WAIT_MS (the queue's wait).
QUEUED_BEFORE = Query(
    "queued before",
    (eq(STATUS, SCHEDULED), is_null(ARCHIVED_AT), le(SCHEDULED_AT, Param("older_than"))),
    (WORKFLOW_ID,),
)
EXPIRED_LOCKS = Query(
    "expired locks", (eq(STATUS, LOCKED), le(LOCK_EXPIRES_AT, Param("now"))), (WORKFLOW_ID,),
)
ARCHIVED_UNSETTLED = Query(
    "archived unsettled",
    (not_null(ARCHIVED_AT), ne(STATUS, LOCKED), not_null(EXECUTION_ID)), (WORKFLOW_ID,),
)
NEXT_RUNS = Query("next runs", (is_null(ARCHIVED_AT), gt(NEXT_RUN, Param("after"))), (NEXT_RUN,))

QUERIES = (
    DUE, DUE_AFTER, WAKING, WAKING_AFTER, QUEUED_BEFORE, EXPIRED_LOCKS, ARCHIVED_UNSETTLED,
    NEXT_RUNS,
)
