"""ExecutionRepository contract."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.mappers import EXECUTION_HANDLER
from shared.adapters.mongo import MongoExecutionRepository
from shared.domain.execution_record import attempt_keys, begin_attempt, from_results, with_run
from shared.domain.models import (
    ActionResult,
    ActionResultStatus,
    Execution,
    ExecutionStatus,
    Waiting,
    WaitReason,
)
from tests.contract.conftest import Repos
from tests.contract.helpers import assert_utc_ms, at
from tests.fakes import V1Action, with_result

OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED


def execution(execution_id: str, workflow_id: str = "w", **fields: object) -> Execution:
    """An execution; v1 `executed_actions` (and the `last_failed_action` they imply) given
    become its record."""
    values: dict[str, object] = {"created_at": at(0), "retries": 4, "total_actions": 3}
    values.update(fields)
    last_failed = values.pop("last_failed_action", None)
    values.update(from_results(values.pop("executed_actions", [])))
    built = Execution.model_validate({"id": execution_id, "workflow_id": workflow_id, **values})
    assert built.last_failed_action == last_failed, "the results imply another last failure"
    return built


async def save(repos: Repos, execution: Execution, expected_retries: int | None = None) -> bool:
    """save_attempt of the actions run in the execution's current attempt."""
    return await repos.executions.save_attempt(
        execution, changed_actions=attempt_keys(execution), expected_retries=expected_retries
    )


async def test_get_or_create_inserts_once_then_returns_the_stored_one(repos: Repos) -> None:
    first = execution("e1")

    created = await repos.executions.get_or_create(first)
    again = await repos.executions.get_or_create(
        execution("e1", "other", retries=1, total_actions=9, created_at=at(5))
    )

    assert created == first
    assert again == first
    assert await repos.executions.get("e1") == first
    assert_utc_ms(again.created_at)


async def test_insert_stores_once_and_refuses_a_stored_id(repos: Repos) -> None:
    settled = execution("e1", status=ExecutionStatus.OK, finished_at=at(2),
                        executed_actions=[ActionResult(action_id=1, status=OK, logs="x")])

    assert await repos.executions.insert(settled) is True
    assert await repos.executions.insert(execution("e1", "other", retries=1)) is False

    assert await repos.executions.get("e1") == settled
    listed = await repos.executions.list_for_workflow(
        "w", status=ExecutionStatus.OK, before=None, limit=10
    )
    assert [e.id for e in listed] == ["e1"]


async def test_get_unknown_is_none(repos: Repos) -> None:
    assert await repos.executions.get("nope") is None


async def test_save_attempt_appends_only_new_results_across_attempts(repos: Repos) -> None:
    run = begin_attempt(await repos.executions.get_or_create(execution("e1")))

    for result in [
        ActionResult(action_id=1, status=OK, logs="stdout: a"),
        ActionResult(action_id=2, status=FAILED, logs="u [STATUS 500] => boom"),
    ]:
        run = with_result(run, result)
    run.retries = 3  # last_failed_action 2: derived from the record
    await save(repos, run)

    after_first = await repos.executions.get("e1")
    assert after_first is not None
    assert after_first.status == ExecutionStatus.PENDING
    assert (after_first.retries, after_first.last_failed_action) == (3, 2)
    assert after_first.executed_actions == run.executed_actions
    assert after_first.finished_at is None

    retry = begin_attempt(after_first)
    for result in [
        ActionResult(action_id=2, status=OK, logs="u [STATUS 200] => fine"),
        ActionResult(action_id=3, status=OK, logs="stdout: c"),
    ]:
        retry = with_result(retry, result)
    retry.status, retry.retries, retry.finished_at = ExecutionStatus.OK, 3, at(9)
    await save(repos, retry)

    stored = await repos.executions.get("e1")
    assert stored is not None
    assert [(r.action_id, r.status) for r in stored.executed_actions] == [
        (1, OK),
        (2, FAILED),
        (2, OK),
        (3, OK),
    ]
    assert stored.executed_actions == retry.executed_actions
    assert stored.status == ExecutionStatus.OK and stored.finished_at == at(9)
    assert stored.last_failed_action == 2 and stored.retries == 3
    assert stored.total_actions == 3 and stored.created_at == at(0)
    assert_utc_ms(stored.finished_at)


async def _seed_history(repos: Repos) -> None:
    rows = [
        execution("e1", created_at=at(1), status=ExecutionStatus.OK),
        execution("e2b", created_at=at(2), status=ExecutionStatus.FAILED),
        execution("e2a", created_at=at(2), status=ExecutionStatus.OK),
        execution("e2c", created_at=at(2), status=ExecutionStatus.OK),
        execution("e3", created_at=at(3), status=ExecutionStatus.PENDING),
        execution("x9", "other", created_at=at(10)),
    ]
    for row in rows:
        await repos.executions.get_or_create(row)


async def test_list_for_workflow_newest_first_with_cursor_paging(repos: Repos) -> None:
    await _seed_history(repos)
    seen: list[list[str]] = []
    before = None
    while True:
        page = await repos.executions.list_for_workflow("w", status=None, before=before, limit=2)
        if not page:
            break
        seen.append([e.id for e in page])
        before = (page[-1].created_at, page[-1].id)

    assert seen == [["e3", "e2c"], ["e2b", "e2a"], ["e1"]]


async def test_list_for_workflow_filters_by_status(repos: Repos) -> None:
    await _seed_history(repos)

    ok = await repos.executions.list_for_workflow(
        "w", status=ExecutionStatus.OK, before=None, limit=10
    )
    ok_after = await repos.executions.list_for_workflow(
        "w", status=ExecutionStatus.OK, before=(at(2), "e2c"), limit=10
    )
    failed = await repos.executions.list_for_workflow(
        "w", status=ExecutionStatus.FAILED, before=None, limit=10
    )

    assert [e.id for e in ok] == ["e2c", "e2a", "e1"]
    assert [e.id for e in ok_after] == ["e2a", "e1"]
    assert [e.id for e in failed] == ["e2b"]
    assert (
        await repos.executions.list_for_workflow("none", status=None, before=None, limit=10) == []
    )
    for row in ok:
        assert_utc_ms(row.created_at)


async def test_save_attempt_with_expected_retries_is_a_compare_and_set(repos: Repos) -> None:
    await repos.executions.get_or_create(execution("e1"))
    first = execution("e1", retries=3, last_failed_action=1, executed_actions=[
        {"action_id": 1, "status": "failed", "logs": "first runner"},
    ])
    stale = execution("e1", status="ok", finished_at=at(3), executed_actions=[
        {"action_id": 1, "status": "ok", "logs": "runner that lost its lease"},
    ])

    assert await save(repos, first, expected_retries=4)
    assert not await save(repos, stale, expected_retries=4)

    stored = await repos.executions.get("e1")
    assert stored is not None
    assert (stored.status, stored.retries) == (ExecutionStatus.PENDING, 3)
    assert [r.logs for r in stored.executed_actions] == ["first runner"]
    assert not await save(repos, first, expected_retries=4)


def cancelled(execution_id: str, **fields: object) -> Execution:
    values: dict[str, object] = {
        "status": "cancelled", "finished_at": at(20), "retries": 0, "reason": "archived",
        "created_at": at(15),
    }
    values.update(fields)
    return execution(execution_id, **values)


async def test_cancel_inserts_a_record_for_an_execution_never_created(repos: Repos) -> None:
    """Issue 13 #3: a trigger answered 200 and archived before any runner claimed it."""
    stored = await repos.executions.cancel(cancelled("e1"))

    assert stored == cancelled("e1")
    assert await repos.executions.get("e1") == stored
    assert_utc_ms(stored.created_at, stored.finished_at)
    assert await repos.executions.list_for_workflow(
        "w", status=ExecutionStatus.CANCELLED, before=None, limit=10
    ) == [stored]


async def test_cancel_settles_a_pending_execution_and_keeps_its_history(repos: Repos) -> None:
    """Issue 13 #2: a pending execution whose workflow was archived."""
    await repos.executions.get_or_create(execution("e1"))
    waiting = execution("e1", retries=3, last_failed_action=2, executed_actions=[
        {"action_id": 1, "status": "ok", "logs": "a"}, {"action_id": 2, "status": "failed",
                                                       "logs": "b"},
    ])
    assert await save(repos, waiting, expected_retries=4)

    stored = await repos.executions.cancel(cancelled("e1"))

    assert stored == waiting.model_copy(update={
        "status": ExecutionStatus.CANCELLED, "finished_at": at(20), "reason": "archived",
    })
    assert await repos.executions.get("e1") == stored
    # A runner that lost its lease cannot overwrite it afterwards.
    late = execution("e1", status="ok", finished_at=at(30))
    assert not await save(repos, late, expected_retries=3)
    assert await repos.executions.cancel(cancelled("e1", finished_at=at(40))) == stored


async def test_cancel_of_a_parked_execution_clears_what_it_waited_for(repos: Repos) -> None:
    parked = execution("e1", waiting={"reason": "delay", "until": at(60), "signal": None})
    await repos.executions.get_or_create(parked)
    assert await save(repos, parked, expected_retries=4)
    stored = await repos.executions.get("e1")
    assert stored is not None and stored.waiting is not None

    settled = await repos.executions.cancel(cancelled("e1"))

    assert settled.status == ExecutionStatus.CANCELLED and settled.waiting is None
    assert await repos.executions.get("e1") == settled


async def test_cancel_leaves_a_finished_execution_as_it_is(repos: Repos) -> None:
    done = execution("e1", status="ok", finished_at=at(9))
    await repos.executions.get_or_create(done)

    assert await repos.executions.cancel(cancelled("e1")) == done
    assert await repos.executions.get("e1") == done


async def test_save_attempt_sets_only_the_entries_of_the_actions_it_ran(repos: Repos) -> None:
    first = begin_attempt(await repos.executions.get_or_create(execution("e1")))
    first = with_run(first, V1Action(1), ActionResult(action_id=1, status=OK, logs="a"),
                     started_at=at(1), finished_at=at(1.25))
    first = with_result(first, ActionResult(action_id=2, status=FAILED, logs="b"))
    first.retries = 3
    assert await save(repos, first, expected_retries=4)

    retry = begin_attempt(first)
    # A stale copy of action 1 that the save must not write.
    retry.actions = {**retry.actions, "action-1": retry.actions["action-1"].model_copy(
        update={"runs": []})}
    retry = with_result(retry, ActionResult(action_id=2, status=OK, logs="c"))
    retry.status, retry.finished_at = ExecutionStatus.OK, at(9)
    assert await repos.executions.save_attempt(
        retry, changed_actions=["action-2"], expected_retries=3
    )

    stored = await repos.executions.get("e1")
    assert stored is not None
    assert stored.actions["action-1"] == first.actions["action-1"]  # not in changed_actions
    assert stored.actions["action-2"] == retry.actions["action-2"]
    assert stored.attempt == 2
    [run] = stored.actions["action-1"].runs
    assert (run.attempt, run.started_at, run.finished_at, run.duration_ms) == (
        1, at(1), at(1.25), 250
    )
    assert [(r.action_id, r.status, r.logs) for r in stored.executed_actions] == [
        (1, OK, "a"), (2, FAILED, "b"), (2, OK, "c"),
    ]


@pytest.mark.integration
async def test_mongo_reads_and_upgrades_a_document_written_before_the_record(
    fresh_db: Any,
) -> None:
    """A document with the flat v1 list (and no `actions` map) reads, then records on."""
    repo = MongoExecutionRepository(fresh_db["executions"], EXECUTION_HANDLER)
    await fresh_db["executions"].insert_one({
        "id": "old", "workflow_id": "w", "status": "pending", "created_at": at(0),
        "finished_at": None, "retries": 3, "last_failed_action": 2, "total_actions": 3,
        "reason": None, "executed_actions": [
            {"action_id": 1, "status": "ok", "logs": "stdout: a"},
            {"action_id": 2, "status": "failed", "logs": "u [STATUS 500] => boom"},
        ],
    })

    read = await repo.get("old")
    assert read is not None
    assert read.last_failed_action == 2 and read.attempt == 1
    assert [(r.action_id, r.status) for r in read.executed_actions] == [(1, OK), (2, FAILED)]

    retry = begin_attempt(await repo.get_or_create(execution("old")))
    assert retry == begin_attempt(read)
    for result in [ActionResult(action_id=2, status=OK, logs="u [STATUS 200] => fine"),
                   ActionResult(action_id=3, status=OK, logs="stdout: c")]:
        retry = with_result(retry, result)
    retry.status, retry.finished_at = ExecutionStatus.OK, at(9)
    assert await repo.save_attempt(
        retry, changed_actions=attempt_keys(retry), expected_retries=3
    )

    doc = await fresh_db["executions"].find_one({"id": "old"})
    assert "executed_actions" not in doc and "last_failed_action" not in doc
    stored = await repo.get("old")
    assert stored is not None
    assert [(r.action_id, r.status) for r in stored.executed_actions] == [
        (1, OK), (2, FAILED), (2, OK), (3, OK),
    ]
    assert stored.last_failed_action == 2 and stored.attempt == 2


async def test_cancel_clears_what_the_execution_waited_for(repos: Repos) -> None:
    """SPEC 12: a cancelled execution waits for nothing (its backoff is dropped)."""
    await repos.executions.get_or_create(execution("e1"))
    backoff = Waiting(reason=WaitReason.BACKOFF, until=at(30))
    retrying = execution("e1", retries=3).model_copy(update={"waiting": backoff})
    assert await save(repos, retrying, expected_retries=4)
    assert (await repos.executions.get("e1")).waiting == backoff  # type: ignore[union-attr]

    stored = await repos.executions.cancel(cancelled("e1"))

    assert stored.status == ExecutionStatus.CANCELLED and stored.waiting is None
    assert await repos.executions.get("e1") == stored
