"""The execution record: keys, runs, the derived v1 fields, what a run still has to do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.mappers import EXECUTION_HANDLER
from shared.domain.execution_record import (
    action_key,
    attempt_keys,
    begin_attempt,
    failed_in_attempt,
    from_results,
    ready_to_run,
    still_to_run,
    with_run,
)
from shared.domain.models import ActionResult, ActionResultStatus, ActionStatus, Execution
from tests.fakes import V1Action, make_actions, with_result

OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Named:
    action_id: int
    name: str | None
    depends_on: list[str] | None = None


def fresh() -> Execution:
    return Execution(id="e1", workflow_id="wf", created_at=T0, retries=4, total_actions=3)


def ran(execution: Execution, *outcomes: tuple[int, ActionResultStatus]) -> Execution:
    """`execution` after one more attempt in which these actions ran, in this order."""
    execution = begin_attempt(execution)
    for action_id, status in outcomes:
        result = ActionResult(action_id=action_id, status=status, logs=f"{action_id} {status}")
        execution = with_result(execution, result)
    return execution


def flat(execution: Execution) -> list[tuple[int, ActionResultStatus]]:
    return [(r.action_id, r.status) for r in execution.executed_actions]


def ids(actions: Sequence[Any]) -> list[int]:
    return [a.action_id for a in actions]


def test_action_key_is_the_name_else_action_and_its_id() -> None:
    assert action_key(V1Action(3)) == "action-3"
    assert action_key(Named(1, None)) == "action-1"
    assert action_key(Named(1, "fetch_orders-2")) == "fetch_orders-2"
    assert action_key(Named(7, "")) == "action-7"


@pytest.mark.parametrize("name", ["a.b", "$set", "x$", "Upper", "-lead", "a" * 65])
def test_action_key_refuses_a_name_unsafe_as_a_field_path(name: str) -> None:
    with pytest.raises(ValueError, match="cannot key"):
        action_key(Named(1, name))


def test_fresh_record_derives_no_results_and_no_failure() -> None:
    assert fresh().executed_actions == []
    assert fresh().last_failed_action is None
    assert fresh().attempt == 0


def test_retry_after_a_failure_derives_the_v1_list_in_run_order() -> None:
    first = ran(fresh(), (1, OK), (2, FAILED))
    assert flat(first) == [(1, OK), (2, FAILED)]
    assert first.last_failed_action == 2
    assert failed_in_attempt(first) == 2
    assert attempt_keys(first) == ["action-1", "action-2"]

    done = ran(first, (2, OK), (3, OK))

    assert flat(done) == [(1, OK), (2, FAILED), (2, OK), (3, OK)]
    assert [r.logs for r in done.executed_actions] == [
        "1 ok", "2 failed", "2 ok", "3 ok"
    ]
    assert done.last_failed_action == 2  # as v1: the last failure stays recorded
    assert failed_in_attempt(done) is None
    assert attempt_keys(done) == ["action-2", "action-3"]
    assert done.attempt == 2
    state = done.actions["action-2"]
    assert (state.action_id, state.status) == (2, ActionStatus.OK)
    assert [(r.attempt, r.status) for r in state.runs] == [(1, FAILED), (2, OK)]
    assert first.actions["action-2"].status == ActionStatus.FAILED, "with_run must not mutate"


def test_the_same_action_failing_every_attempt_derives_one_entry_per_run() -> None:
    record = fresh()
    for _ in range(4):
        record = ran(record, (1, FAILED))

    assert flat(record) == [(1, FAILED)] * 4
    assert record.last_failed_action == 1 and record.attempt == 4
    assert [r.attempt for r in record.actions["action-1"].runs] == [1, 2, 3, 4]


def test_derived_order_follows_the_runs_not_the_keys() -> None:
    done = ran(ran(fresh(), (1, OK), (2, FAILED)), (2, OK), (3, OK))
    reordered = done.model_copy(update={"actions": dict(reversed(done.actions.items()))})

    assert flat(reordered) == flat(done)


def test_with_run_records_timings() -> None:
    record = begin_attempt(fresh())
    result = ActionResult(action_id=1, status=OK, logs="x")

    timed = with_run(record, V1Action(1), result, started_at=T0,
                     finished_at=T0 + timedelta(milliseconds=1250))

    [run] = timed.actions["action-1"].runs
    assert (run.seq, run.attempt, run.started_at, run.duration_ms) == (1, 1, T0, 1250)
    assert run.finished_at == T0 + timedelta(milliseconds=1250)


def test_still_to_run_is_every_action_that_has_not_succeeded() -> None:
    actions = make_actions()

    assert ids(still_to_run(actions, fresh())) == [1, 2, 3]
    assert ids(still_to_run(actions, ran(fresh(), (1, OK), (2, FAILED)))) == [2, 3]
    assert ids(still_to_run(actions, ran(fresh(), (1, FAILED)))) == [1, 2, 3]
    assert still_to_run(actions, ran(fresh(), (1, OK), (2, OK), (3, OK))) == []


def test_ready_to_run_keeps_a_v1_list_a_chain() -> None:
    actions = make_actions()
    record = fresh()

    assert ids(ready_to_run(actions, record)) == [1]
    assert ready_to_run(actions, record, ["action-1"]) == []  # not parallel: 2 waits for 1
    after_failure = ran(record, (1, OK), (2, FAILED))
    assert ids(ready_to_run(actions, after_failure)) == [2]
    assert ready_to_run(actions, after_failure, ["action-2"]) == []
    assert ready_to_run(actions, ran(after_failure, (2, OK), (3, OK))) == []


def test_ready_to_run_follows_depends_on_when_actions_have_it() -> None:
    actions = [Named(1, "fetch"), Named(2, "notify", ["fetch"]), Named(3, "audit", ["fetch"])]
    fetched = with_run(begin_attempt(fresh()), actions[0],
                       ActionResult(action_id=1, status=OK, logs="fetched"))

    assert ids(ready_to_run(actions, fresh())) == [1]
    assert ids(ready_to_run(actions, fetched)) == [2, 3]
    assert ids(ready_to_run(actions, fetched, ["notify"])) == [3]


def test_from_results_reads_a_v1_list_back_as_the_same_list() -> None:
    results = [
        ActionResult(action_id=1, status=OK, logs="a"),
        ActionResult(action_id=2, status=FAILED, logs="b"),
        ActionResult(action_id=2, status=OK, logs="c"),
        ActionResult(action_id=3, status=OK, logs="d"),
    ]

    record = fresh().model_copy(update=from_results(results))

    assert record.executed_actions == results
    assert record.last_failed_action == 2 and record.attempt == 2
    assert [r.attempt for r in record.actions["action-2"].runs] == [1, 2]
    assert from_results([]) == {"actions": {}, "attempt": 0}
    assert from_results([results[0], results[1]])["attempt"] == 1


def test_mapper_reads_an_old_document_with_the_flat_list() -> None:
    old = {
        "_id": "object-id", "id": "e1", "workflow_id": "wf", "status": "pending",
        "created_at": T0, "finished_at": None, "retries": 3, "last_failed_action": 2,
        "total_actions": 3, "reason": None, "executed_actions": [
            {"action_id": 1, "status": "ok", "logs": "stdout: a"},
            {"action_id": 2, "status": "failed", "logs": "boom"},
        ],
    }

    read = EXECUTION_HANDLER.from_document(old)

    assert flat(read) == [(1, OK), (2, FAILED)]
    assert read.last_failed_action == 2 and read.retries == 3 and read.attempt == 1
    assert ids(still_to_run(make_actions(), read)) == [2, 3]
    assert (read.id, read.status.value, read.total_actions) == ("e1", "pending", 3)


def test_mapper_round_trips_the_record_without_v1_fields() -> None:
    record = ran(ran(fresh(), (1, OK), (2, FAILED)), (2, OK))

    doc = EXECUTION_HANDLER.to_document(record)

    assert "executed_actions" not in doc and "last_failed_action" not in doc
    assert set(doc["actions"]) == {"action-1", "action-2"}
    assert EXECUTION_HANDLER.from_document(doc) == record
