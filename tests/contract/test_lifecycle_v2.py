"""SPEC 12's repository methods on every adapter: kept versions, the list filters, the
executions of every workflow, the cancel flag and reopening for a retry. (The new
transitions run with every other one: tests/lifecycle_cases.py.)"""

from __future__ import annotations

from shared.domain.execution_record import attempt_keys, begin_attempt, with_run
from shared.domain.lifecycle import transitions as lc
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
