"""runner_svc.outcome: the pure decisions of an attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner_svc.outcome import next_run_after, release_for, settle
from shared.domain.execution_record import begin_attempt, still_to_run, with_run
from shared.domain.models import (
    ActionResult,
    ActionResultStatus,
    Execution,
    ExecutionStatus,
    TriggerStatus,
)
from tests.fakes import make_actions, manual_workflow, periodic_workflow
from tests.fakes.clock import FakeClock

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(minutes=5)


def execution(retries: int = 4, last_failed_action: int | None = None) -> Execution:
    """An execution in its first attempt, whose actions ran ok up to `last_failed_action`."""
    record = begin_attempt(Execution(
        id="e1",
        workflow_id="wf",
        created_at=T0,
        retries=retries,
        total_actions=3,
    ))
    if last_failed_action is None:
        return record
    for action in make_actions()[:last_failed_action]:
        failed = action.action_id == last_failed_action
        status = ActionResultStatus.FAILED if failed else ActionResultStatus.OK
        result = ActionResult(action_id=action.action_id, status=status, logs="")
        record = with_run(record, action, result)
    return record


@pytest.mark.parametrize(
    ("retries", "failed", "status", "retries_after", "last_failed", "finished"),
    [
        (4, None, ExecutionStatus.OK, 4, None, True),
        (1, None, ExecutionStatus.OK, 1, None, True),
        (4, 2, ExecutionStatus.PENDING, 3, 2, False),
        (3, 1, ExecutionStatus.PENDING, 2, 1, False),
        (2, 3, ExecutionStatus.PENDING, 1, 3, False),
        (1, 2, ExecutionStatus.FAILED, 0, 2, True),
        (0, 2, ExecutionStatus.FAILED, 0, 2, True),
    ],
)
def test_settle_table(
    retries: int,
    failed: int | None,
    status: ExecutionStatus,
    retries_after: int,
    last_failed: int | None,
    finished: bool,
) -> None:
    before = execution(retries, failed)
    after = settle(before, NOW)
    assert after.status == status
    assert after.retries == retries_after
    assert after.last_failed_action == last_failed
    assert after.finished_at == (NOW if finished else None)
    assert (before.status, before.retries, before.finished_at) == (
        ExecutionStatus.PENDING,
        retries,
        None,
    ), "settle must not mutate its input"


def test_still_to_run_fresh_starts_at_one_and_retry_at_the_failed_action() -> None:
    def ids(record: Execution) -> list[int]:
        return [a.action_id for a in still_to_run(make_actions(), record)]

    assert ids(execution()) == [1, 2, 3]
    assert ids(execution(last_failed_action=3)) == [3]
    assert ids(execution(last_failed_action=1)) == [1, 2, 3]
    assert ids(execution(last_failed_action=2)) == [2, 3]


def test_next_run_after_manual_is_none() -> None:
    assert next_run_after(manual_workflow("m", FakeClock(T0)), NOW) is None


@pytest.mark.parametrize(
    ("now_offset_s", "expected_offset_s"),
    [
        (0, 10),  # before the first slot
        (3, 10),
        (10, 20),  # exactly on a slot: strictly after
        (13, 20),  # a run that took 3 s does not drift
        (22, 30),
        (105, 110),  # ten missed slots collapse into one
    ],
)
def test_next_run_after_periodic_is_next_grid_slot(
    now_offset_s: int, expected_offset_s: int
) -> None:
    workflow = periodic_workflow("p", FakeClock(T0), interval_s=10)
    got = next_run_after(workflow, T0 + timedelta(seconds=now_offset_s))
    assert got == T0 + timedelta(seconds=expected_offset_s)


@pytest.mark.parametrize("status", [ExecutionStatus.OK, ExecutionStatus.FAILED])
def test_release_for_finished_goes_idle(status: ExecutionStatus) -> None:
    manual = manual_workflow("m", FakeClock(T0))
    release = release_for(
        manual,
        token="t",
        execution_id="e1",
        retries_before=1,
        status=status,
        now=NOW,
        backoff_scale=1.0,
    )
    assert (release.workflow_id, release.lock_token) == ("m", "t")
    assert release.trigger_status is None
    assert release.execution_id is None
    assert release.next_run is None

    periodic = periodic_workflow("p", FakeClock(T0), interval_s=7)
    release = release_for(
        periodic,
        token="t",
        execution_id="e1",
        retries_before=4,
        status=status,
        now=T0 + timedelta(seconds=15),
        backoff_scale=1.0,
    )
    assert release.trigger_status is None
    assert release.next_run == T0 + timedelta(seconds=21)


@pytest.mark.parametrize(
    ("retries_before", "scale", "delay_s"),
    [(4, 1.0, 4), (3, 1.0, 9), (2, 1.0, 16), (4, 0.5, 2), (3, 0.01, 0.09)],
)
@pytest.mark.parametrize("status", [ExecutionStatus.PENDING, None])
def test_release_for_pending_or_interrupted_waits_for_backoff(
    retries_before: int, scale: float, delay_s: float, status: ExecutionStatus | None
) -> None:
    workflow = periodic_workflow("p", FakeClock(T0), interval_s=10)
    release = release_for(
        workflow,
        token="t",
        execution_id="e1",
        retries_before=retries_before,
        status=status,
        now=NOW,
        backoff_scale=scale,
    )
    assert release.trigger_status == TriggerStatus.PENDING
    assert release.execution_id == "e1"
    assert release.next_run == NOW + timedelta(seconds=delay_s)
