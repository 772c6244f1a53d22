"""Parking and signalling on every adapter: a parked action's wait and the execution's
`waiting` are stored; a signal is delivered once, only to the action parked on it."""

from __future__ import annotations

from shared.domain.execution_record import begin_attempt, parked, waiting_for_signal
from shared.domain.models import (
    ActionStatus,
    ActionWait,
    Execution,
    ExecutionStatus,
    Waiting,
    WaitReason,
)
from tests.contract.conftest import Repos
from tests.contract.helpers import at
from tests.fakes import V1Action


def fresh(execution_id: str) -> Execution:
    return Execution(id=execution_id, workflow_id="w", created_at=at(0), retries=4,
                     total_actions=2)


async def park_on_signal(repos: Repos, execution_id: str) -> Execution:
    stored = begin_attempt(await repos.executions.get_or_create(fresh(execution_id)))
    wait = ActionWait(reason=WaitReason.SIGNAL, signal="go", until=at(60), started_at=at(1))
    waiting = Waiting(reason=WaitReason.SIGNAL, signal="go", until=at(60))
    execution = parked(stored, V1Action(2), wait).model_copy(update={"waiting": waiting})
    assert await repos.executions.save_attempt(
        execution, changed_actions=["action-2"], expected_retries=4
    )
    return execution


async def test_a_parked_execution_is_stored_with_its_wait(repos: Repos) -> None:
    execution = await park_on_signal(repos, "e1")

    stored = await repos.executions.get("e1")
    assert stored == execution
    assert stored is not None and stored.status == ExecutionStatus.PENDING
    assert stored.actions["action-2"].status == ActionStatus.WAITING
    assert waiting_for_signal(stored, "go") == "action-2"


async def test_a_signal_is_delivered_once_and_only_to_its_action(repos: Repos) -> None:
    await park_on_signal(repos, "e1")
    deliver = repos.executions.deliver_signal

    assert not await deliver("e1", "action-2", "other", {"x": 1})
    assert not await deliver("e1", "action-1", "go", {"x": 1})
    assert not await deliver("nope", "action-2", "go", {"x": 1})
    assert await deliver("e1", "action-2", "go", {"x": [1, "two"], "y": None})
    assert not await deliver("e1", "action-2", "go", {"x": 2})

    stored = await repos.executions.get("e1")
    assert stored is not None
    wait = stored.actions["action-2"].wait
    assert wait is not None and wait.delivered and wait.payload == {"x": [1, "two"], "y": None}
    assert waiting_for_signal(stored, "go") is None


async def test_no_signal_reaches_a_finished_execution(repos: Repos) -> None:
    execution = await park_on_signal(repos, "e1")
    finished = execution.model_copy(update={"status": ExecutionStatus.FAILED, "retries": 0})
    assert await repos.executions.save_attempt(finished, changed_actions=[],
                                               expected_retries=4)

    assert not await repos.executions.deliver_signal("e1", "action-2", "go", {})
