"""SPEC 12's repository methods on every adapter: kept versions, the list filters, the
executions of every workflow, the cancel flag and reopening for a retry. (The new
transitions run with every other one: tests/lifecycle_cases.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.mongo_lifecycle import to_filter
from shared.domain.execution_record import attempt_keys, begin_attempt, with_run
from shared.domain.lifecycle import transitions as lc
from shared.domain.lifecycle.listing import listing
from shared.domain.models import (
    ActionResult,
    ActionResultStatus,
    ActionStatus,
    Execution,
    ExecutionStatus,
    TriggerType,
    WorkflowStatus,
)
from shared.domain.versions import as_version, snapshot
from shared.ports import WorkflowFilter
from tests.contract.conftest import Repos
from tests.contract.helpers import at, claim, manual, periodic
from tests.fakes import V1Action

OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED


async def test_a_kept_version_reads_back_and_is_kept_once(repos: Repos) -> None:
    workflow = periodic("w", at(10))
    kept = snapshot(workflow)
    await repos.versions.keep_version(kept)
    changed = kept.model_copy(update={"definition": {"actions": []}})
    await repos.versions.keep_version(changed)

    got = await repos.versions.get_version("w", 1)

    assert got == kept, "the first copy stays"
    assert await repos.versions.get_version("w", 2) is None
    assert await repos.versions.get_version("other", 1) is None
    assert got is not None and as_version(workflow, got) == workflow


async def test_the_list_filters(repos: Repos) -> None:
    await repos.workflows.create(manual("m"))
    await repos.workflows.create(periodic("p", at(10)))
    await repos.workflows.create(manual("x"))
    await repos.workflows.create(periodic("q", at(10)))
    assert await repos.workflows.apply(lc.PAUSE, "p", {"now": at(1)})
    await repos.workflows.archive("x", at(2))
    assert await repos.workflows.claim_for_trigger(claim("m", "e1"))

    async def ids(after: str | None = None, limit: int = 10, **filters: object) -> list[str]:
        listed = await repos.workflows.list_after(
            after_id=after, limit=limit, filters=WorkflowFilter(**filters))  # type: ignore[arg-type]
        return [w.workflow_id for w in listed]

    assert await ids() == ["m", "p", "q", "x"]
    assert await ids(trigger_type=TriggerType.PERIODIC) == ["p", "q"]
    assert await ids(paused=True) == ["p"]
    assert await ids(paused=False) == ["m", "q", "x"]
    assert await ids(archived=True) == ["x"]
    assert await ids(archived=False, paused=False) == ["m", "q"]
    assert await ids(status=WorkflowStatus.SCHEDULED) == ["m"]
    assert await ids(status=WorkflowStatus.ACTIVE, trigger_type=TriggerType.MANUAL) == ["x"]
    assert await ids("p", trigger_type=TriggerType.PERIODIC) == ["q"]
    assert await ids(limit=1, archived=False) == ["m"]
    assert [w.workflow_id for w in await repos.workflows.list_after(
        after_id="m", limit=2)] == ["p", "q"], "no filters: as before"


def _execution(execution_id: str, workflow_id: str, seconds: float,
               status: ExecutionStatus = ExecutionStatus.OK) -> Execution:
    return Execution(id=execution_id, workflow_id=workflow_id, created_at=at(seconds),
                     status=status, retries=4, total_actions=2)


async def test_executions_of_every_workflow_newest_first(repos: Repos) -> None:
    made = [
        _execution("e1", "a", 1), _execution("e2", "b", 2, ExecutionStatus.FAILED),
        _execution("e3", "a", 3, ExecutionStatus.FAILED), _execution("e5", "b", 4),
        _execution("e4", "b", 4),
    ]
    for execution in made:
        await repos.executions.get_or_create(execution)

    async def ids(**query: object) -> list[str]:
        params = {"workflow_id": None, "status": None, "before": None, "limit": 10, **query}
        return [e.id for e in await repos.executions.list_executions(**params)]  # type: ignore[arg-type]

    assert await ids() == ["e5", "e4", "e3", "e2", "e1"]
    assert await ids(workflow_id="a") == ["e3", "e1"]
    assert await ids(status=ExecutionStatus.FAILED) == ["e3", "e2"]
    assert await ids(workflow_id="b", status=ExecutionStatus.OK) == ["e5", "e4"]
    assert await ids(before=(at(4), "e5")) == ["e4", "e3", "e2", "e1"]
    assert await ids(before=(at(4), "e4"), limit=2) == ["e3", "e2"]


async def test_the_cancel_flag_is_set_only_on_a_pending_execution(repos: Repos) -> None:
    await repos.executions.get_or_create(_execution("p", "a", 1, ExecutionStatus.PENDING))
    await repos.executions.get_or_create(_execution("d", "a", 2, ExecutionStatus.OK))

    assert await repos.executions.request_cancel("p")
    assert not await repos.executions.request_cancel("d")
    assert not await repos.executions.request_cancel("unknown")

    pending, done = await repos.executions.get("p"), await repos.executions.get("d")
    assert pending is not None and pending.cancel_requested
    assert done is not None and not done.cancel_requested


async def _failed_run(repos: Repos, execution_id: str, status: ExecutionStatus) -> Execution:
    execution = begin_attempt(await repos.executions.get_or_create(
        _execution(execution_id, "a", 1, ExecutionStatus.PENDING)))
    for action_id, result in ((1, OK), (2, FAILED)):
        execution = with_run(execution, V1Action(action_id), ActionResult(
            action_id=action_id, status=result, logs="x"))
    settled = execution.model_copy(update={
        "status": status, "retries": 0, "finished_at": at(5), "reason": "why"})
    assert await repos.executions.save_attempt(settled, changed_actions=attempt_keys(settled))
    await repos.executions.request_cancel(execution_id)
    return settled


async def test_reopen_makes_a_failed_or_cancelled_execution_pending_again(repos: Repos) -> None:
    await _failed_run(repos, "f", ExecutionStatus.FAILED)
    await _failed_run(repos, "c", ExecutionStatus.CANCELLED)

    reopened = await repos.executions.reopen("f", retries=4, reset_actions=["action-1"])
    plain = await repos.executions.reopen("c", retries=2, reset_actions=[])

    assert reopened is not None and reopened == await repos.executions.get("f")
    assert (reopened.status, reopened.retries, reopened.finished_at, reopened.reason) == (
        ExecutionStatus.PENDING, 4, None, None)
    assert [reopened.actions[k].status for k in ("action-1", "action-2")] == [
        ActionStatus.PENDING, ActionStatus.FAILED]
    assert len(reopened.actions["action-1"].runs) == 1, "the history of runs stays"
    assert plain is not None and plain.retries == 2
    assert plain.actions["action-1"].status == ActionStatus.OK
    assert await repos.executions.reopen("f", retries=4, reset_actions=[]) is None, "pending"
    assert await repos.executions.reopen("unknown", retries=4, reset_actions=[]) is None


def _index_scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The IXSCAN stages of a winning plan (their `keyPattern` says which index)."""
    found = [plan] if plan.get("stage") == "IXSCAN" else []
    for key in ("inputStage", "inputStages", "queryPlan"):
        child = plan.get(key)
        for item in child if isinstance(child, list) else [child] if child else []:
            found.extend(_index_scans(item))
    return found


async def _seed(db: Any) -> None:
    """Enough varied documents that the planner's choice reflects the indexes."""
    await db["workflows"].insert_many([
        {"workflow_id": f"w{n:03}", "status": ("active", "scheduled", "locked")[n % 3],
         "trigger": {"type": ("manual", "periodic")[n % 2]},
         "paused_at": at(1) if n % 5 == 0 else None,
         "archived_at": at(2) if n % 7 == 0 else None}
        for n in range(200)
    ])
    await db["executions"].insert_many([
        {"id": f"e{n:03}", "workflow_id": f"w{n % 20}", "created_at": at(n),
         "status": ("ok", "failed", "pending")[n % 3]}
        for n in range(200)
    ])


@pytest.mark.integration
@pytest.mark.parametrize(("filters", "field"), [
    (WorkflowFilter(status=WorkflowStatus.LOCKED), "status"),
    (WorkflowFilter(trigger_type=TriggerType.MANUAL), "trigger.type"),
    (WorkflowFilter(paused=True), "paused_at"), (WorkflowFilter(archived=True), "archived_at"),
], ids=lambda value: value if isinstance(value, str) else "")
async def test_each_list_filter_is_served_by_its_index(
    fresh_db: Any, filters: WorkflowFilter, field: str
) -> None:
    await _seed(fresh_db)
    query = listing(after_id="w000", filters=filters)
    cursor = fresh_db["workflows"].find(to_filter(query.where, {})).sort("workflow_id", 1)

    plan = (await cursor.explain())["queryPlanner"]["winningPlan"]

    # The filtered field leads the index (for an equality, then the id order; `paused` and
    # `archived` are ranges, "not null", which a sort follows either way).
    assert [list(s["keyPattern"])[0] for s in _index_scans(plan)] == [field], plan


@pytest.mark.integration
@pytest.mark.parametrize(("query", "fields"), [
    ({}, ["created_at", "id"]), ({"status": "failed"}, ["status", "created_at", "id"]),
    ({"workflow_id": "w1"}, ["workflow_id", "created_at", "id"]),
    ({"workflow_id": "w1", "status": "ok"}, ["workflow_id", "status", "created_at", "id"]),
], ids=repr)
async def test_the_executions_list_is_served_by_an_index(
    fresh_db: Any, query: dict[str, str], fields: list[str]
) -> None:
    await _seed(fresh_db)
    cursor = fresh_db["executions"].find(query).sort([("created_at", -1), ("id", -1)])

    plan = (await cursor.explain())["queryPlanner"]["winningPlan"]

    assert [list(s["keyPattern"]) for s in _index_scans(plan)] == [fields], plan
