"""The MongoDB adapter without a database: the statements the lifecycle becomes, and
PyMongo's outage errors surfacing as `Unavailable` (answered 503 by the API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo.errors import (
    AutoReconnect,
    ExecutionTimeout,
    NotPrimaryError,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.adapters.mongo import MongoExecutionRepository, MongoWorkflowRepository
from shared.adapters.mongo_errors import is_transient
from shared.adapters.mongo_lifecycle import to_filter, to_query_filter, to_update
from shared.domain.errors import Unavailable
from shared.domain.lifecycle import queries as lq
from shared.domain.lifecycle import transitions as lc
from shared.domain.lifecycle.language import gt, le
from tests.contract.helpers import at, claim


class Failing:
    """A collection (and its cursors) on which every call raises `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return self.find if name == "find" else call

    def find(self, *args: Any, **kwargs: Any) -> Failing:
        return self

    def sort(self, *args: Any) -> Failing:
        return self

    def limit(self, *args: Any) -> Failing:
        return self

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        raise self.error


def repositories(error: Exception) -> tuple[MongoWorkflowRepository, MongoExecutionRepository]:
    return (MongoWorkflowRepository(Failing(error), WORKFLOW_HANDLER),  # type: ignore[arg-type]
            MongoExecutionRepository(Failing(error), EXECUTION_HANDLER))  # type: ignore[arg-type]


async def test_auto_reconnect_inside_the_adapter_surfaces_as_unavailable() -> None:
    workflows, executions = repositories(AutoReconnect("connection reset"))
    calls = [
        workflows.get("w"), workflows.claim_for_trigger(claim("w")),
        workflows.find_due(at(0), after=None, limit=5), workflows.earliest_next_run(at(0)),
        workflows.lock("w", token="t", lease_until=at(1)), workflows.archive("w", at(0)),
        executions.get("e"),
    ]
    for call in calls:
        with pytest.raises(Unavailable) as raised:
            await call
        assert raised.value.message == "database unavailable, try again"
        assert isinstance(raised.value.__cause__, AutoReconnect)


@pytest.mark.parametrize("error", [
    ServerSelectionTimeoutError("no primary"), NotPrimaryError("stepped down"),
    ExecutionTimeout("maxTimeMS"), OperationFailure("shutting down", code=91),
    OperationFailure("x", code=2, details={"errorLabels": ["RetryableWriteError"]}),
])
def test_outages_are_transient(error: Exception) -> None:
    assert is_transient(error)  # type: ignore[arg-type]


async def test_an_error_of_the_call_itself_stays_what_it_is() -> None:
    bad_value = OperationFailure("bad query", code=2)
    assert not is_transient(bad_value)
    workflows, _ = repositories(bad_value)
    with pytest.raises(OperationFailure):
        await workflows.get("w")


def test_the_rated_trigger_claim_is_one_filtered_pipeline_update() -> None:
    params = {"now": at(1), "execution_id": "e1", "window_start": at(0), "rate_limit": 3,
              "input": None, "input_given": False}
    query = to_filter(lc.CLAIM_TRIGGER_RATED.requires, params)
    update = to_update(lc.CLAIM_TRIGGER_RATED.update, params)

    assert query == {
        "archived_at": None, "paused_at": None, "status": "active", "trigger.type": "manual",
        "trigger.status": None, "trigger.input_required": {"$in": [False, None, False]},
        "$or": [{"rate.window_start": {"$ne": at(0)}}, {"rate.count": {"$lt": 3}}],
    }
    same_window = {"$eq": ["$rate.window_start", {"$literal": at(0)}]}
    assert update == [{"$set": {
        "status": {"$literal": "scheduled"}, "scheduled_at": {"$literal": at(1)},
        "trigger.status": {"$literal": "busy"}, "trigger.execution_id": {"$literal": "e1"},
        "trigger.run_input": {"$literal": None}, "trigger.fresh_execution": {"$literal": True},
        "rate": {"window_start": {"$literal": at(0)},
                 "count": {"$cond": [same_window, {"$add": ["$rate.count", 1]}, 1]}},
    }}]


def test_updates_and_filters_of_plain_transitions() -> None:
    params = {"execution_id": "e1", "window_start": at(0)}
    assert to_update(lc.UNDO_TRIGGER_IN_WINDOW.update, params) == {
        "$set": {"status": "active", "trigger.status": None, "trigger.execution_id": None,
                 "scheduled_at": None},
        "$inc": {"rate.count": -1},
    }
    assert to_update(lc.RESUME.update, {"next_run": None}) == {
        "$unset": {"paused_at": ""}, "$set": {"trigger.next_run": None},
    }
    assert to_filter(lc.CANCEL_WAITING.requires, {"execution_id": "e1", "next_run": None}) == {
        "status": "active", "trigger.status": {"$in": ["pending", "waiting"]},
        "trigger.execution_id": "e1",
    }
    # The due query keeps the fields of the (status, trigger.next_run) index.
    due = to_filter(lq.DUE.where, {"now": at(5)})
    assert due["status"] == "active" and due["trigger.next_run"] == {"$lte": at(5)}
    both = to_filter((gt(lc.NEXT_RUN, 1), le(lc.NEXT_RUN, 2)), {})
    assert both == {"trigger.next_run": {"$gt": 1, "$lte": 2}}


def test_a_page_after_a_cursor_is_a_rooted_or_with_each_branch_bounded() -> None:
    assert to_query_filter(lq.DUE.where, {"now": at(5)}) == to_filter(lq.DUE.where, {"now": at(5)})
    params = {"now": at(5), "after_next_run": at(1), "after_id": "w9"}
    later, same_instant = to_query_filter(lq.DUE_AFTER.where, params)["$or"]
    assert later["status"] == same_instant["status"] == "active"
    assert later["trigger.next_run"] == {"$lte": at(5), "$gt": at(1)}
    assert same_instant["trigger.next_run"] == {"$lte": at(5), "$eq": at(1)}
    assert same_instant["workflow_id"] == {"$gt": "w9"}


@pytest.fixture
def workflows() -> MongoWorkflowRepository:
    """The API's workflows on a database that cannot be reached (overrides conftest's)."""
    return repositories(ServerSelectionTimeoutError("no servers"))[0]


async def test_the_api_answers_503_when_the_database_is_unreachable(
    api: httpx.AsyncClient,
) -> None:
    body = {"workflowId": "x", "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "m"}]}
    for response in [await api.get("/workflows/x"), await api.post("/workflows", json=body),
                     await api.post("/workflows/x/trigger"), await api.get("/workflows")]:
        assert response.status_code == 503, response.text
        assert response.json() == {"error": "database unavailable, try again"}
        assert "retry-after" not in response.headers
