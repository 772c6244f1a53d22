"""batched_statement: a batch of compare-and-sets as one update_many (what it runs is shown
by the batch-claim contract tests on real mongod; here, its shape and what it refuses)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.adapters.mongo_batch import batched_statement
from shared.domain.lifecycle import transitions as lc
from shared.domain.lifecycle.language import (
    CountInWindow,
    Param,
    Set,
    Transition,
    lt,
    one_of,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def due_call(workflow_id: str, execution_id: str, *, observed: datetime = T0,
             status: Any = None) -> tuple[str, dict[str, Any]]:
    return workflow_id, {
        "observed_next_run": observed, "observed_trigger_status": status, "now": T0,
        "execution_id": execution_id, "next_run": T0, "claim_id": f"c-{workflow_id}",
        "fresh_execution": True,
    }


def test_shared_parameters_are_plain_values_and_varying_ones_are_picked_per_workflow() -> None:
    query, pipeline = batched_statement(lc.CLAIM_DUE, [due_call("a", "e1"), due_call("b", "e2")])

    assert query["workflow_id"] == {"$in": ["a", "b"]}
    assert query["trigger.next_run"] == T0 and query["status"] == "active"
    assert "$expr" not in query  # every condition's parameter is the same for both
    values = pipeline[1]["$set"]
    assert values["scheduled_at"] == {"$literal": T0}
    assert values["trigger.execution_id"] == {
        "$arrayElemAt": [{"$literal": ["e1", "e2"]}, "$__row"]
    }
    assert pipeline[0] == {"$set": {"__row": {
        "$indexOfArray": [{"$literal": ["a", "b"]}, "$workflow_id"]
    }}}
    assert pipeline[-1] == {"$unset": ["__row"]}


def test_a_condition_on_a_varying_parameter_is_an_expression_where_missing_is_null() -> None:
    later = T0.replace(hour=1)
    query, _ = batched_statement(lc.CLAIM_DUE, [
        due_call("a", "e1"), due_call("b", "e2", observed=later, status="pending"),
    ])

    assert "trigger.next_run" not in query and "trigger.status" not in query
    clauses = query["$expr"]["$and"]
    assert {"$eq": [{"$ifNull": ["$trigger.next_run", None]}, {"$arrayElemAt": [
        {"$literal": [T0, later]},
        {"$indexOfArray": [{"$literal": ["a", "b"]}, "$workflow_id"]},
    ]}]} in clauses
    assert len(clauses) == 2


def trigger_call(workflow_id: str, execution_id: str) -> tuple[str, dict[str, Any]]:
    return workflow_id, {
        "now": T0, "execution_id": execution_id, "input": None, "input_given": False,
        "window_start": T0, "rate_limit": 60,
    }


def test_clauses_and_updates_on_shared_parameters_are_translated_as_for_one_call() -> None:
    query, pipeline = batched_statement(
        lc.CLAIM_TRIGGER_RATED, [trigger_call("a", "e1"), trigger_call("b", "e2")]
    )

    assert query["$or"] == [
        {"rate.window_start": {"$ne": T0}}, {"rate.count": {"$lt": 60}},
    ]
    values = pipeline[1]["$set"]
    assert values["rate"]["window_start"] == {"$literal": T0}
    assert "$cond" in values["rate"]["count"]
    assert values["trigger.execution_id"]["$arrayElemAt"][0] == {"$literal": ["e1", "e2"]}


def test_a_workflow_named_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="each workflow once"):
        batched_statement(lc.CLAIM_DUE, [due_call("a", "e1"), due_call("a", "e2")])


def test_wrong_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="parameters"):
        batched_statement(lc.CLAIM_DUE, [("a", {"now": T0})])


@pytest.mark.parametrize("transition, why", [
    (Transition("ordering", (lt("n", Param("p")),), (Set("x", 1),)), "needs an equality"),
    (Transition("count", (), (CountInWindow("r", Param("p")),)), "with a per-call parameter"),
    (Transition("member", (one_of("x", 1, Param("p")),), (Set("x", 1),)), "inside a value"),
])
def test_a_shape_it_cannot_batch_is_refused_not_guessed(transition: Transition, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        batched_statement(transition, [("a", {"p": 1}), ("b", {"p": 2})])
