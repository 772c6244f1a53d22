"""The runner's DB round trips per successful single-action execution, counted against
MongoDB by command monitoring (issue 15): 3 for a new execution whose attempt ends within
RUNNER_RECORD_AFTER_MS (lock, one insert of its outcome, release), 4 with it off (lock,
insert, record the attempt, release)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from runner_svc.worker import ExecutionWorker
from shared.actions import LogAction
from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.adapters.memory import InMemoryPublisher
from shared.adapters.mongo import MongoExecutionRepository, MongoWorkflowRepository
from shared.domain.models import (
    ExecutionStatus,
    Trigger,
    TriggerType,
    Workflow,
    WorkflowStatus,
)
from tests.fakes import ScriptedActionRunner
from tests.fakes.clock import FakeClock
from tests.integration.conftest import Commands
from workflows_svc.service import WorkflowService

pytestmark = pytest.mark.integration


async def runner_commands(db: Any, commands: Commands, *, record_after_s: float) -> list[str]:
    """The commands one runner sends for one triggered single-action execution."""
    clock = FakeClock()
    workflows = MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER)
    executions = MongoExecutionRepository(db["executions"], EXECUTION_HANDLER)
    publisher = InMemoryPublisher()
    service = WorkflowService(workflows=workflows, executions=executions,
                              publisher=publisher, clock=clock)
    workflow_id = f"wf-{uuid.uuid4().hex[:8]}"
    await workflows.create(Workflow(
        workflow_id=workflow_id, created_at=clock.now(), trigger=Trigger(type=TriggerType.MANUAL),
        actions=[LogAction(action_id=1, message="m")],
    ))
    await service.trigger(workflow_id)
    (request,) = publisher.published
    worker = ExecutionWorker(workflows=workflows, executions=executions,
                             actions=ScriptedActionRunner(), clock=clock,
                             record_after_s=record_after_s)
    commands.names.clear()
    done = await worker.run(request)
    assert done is not None and done.status == ExecutionStatus.OK
    names = list(commands.names)
    stored = await executions.get(done.id)
    assert stored is not None and stored.status == ExecutionStatus.OK
    assert [r.action_id for r in stored.executed_actions] == [1]
    return names


async def test_a_short_new_execution_costs_the_runner_three_round_trips(
    counted: tuple[Any, Commands],
) -> None:
    db, commands = counted
    assert await runner_commands(db, commands, record_after_s=0.25) == [
        "findAndModify", "insert", "update",
    ]
    assert await runner_commands(db, commands, record_after_s=0) == [
        "findAndModify", "findAndModify", "update", "update",
    ]


async def concurrent_runs(db: Any, commands: Commands, *, count: int, coalesce_writes: bool
                          ) -> list[str]:
    """The commands one runner sends for `count` executions of as many workflows at once."""
    clock = FakeClock()
    workflows = MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER,
                                        coalesce_writes=coalesce_writes)
    executions = MongoExecutionRepository(db["executions"], EXECUTION_HANDLER,
                                          coalesce_writes=coalesce_writes)
    publisher = InMemoryPublisher()
    service = WorkflowService(workflows=workflows, executions=executions,
                              publisher=publisher, clock=clock)
    for _ in range(count):
        workflow_id = f"wf-{uuid.uuid4().hex[:8]}"
        await workflows.create(Workflow(
            workflow_id=workflow_id, created_at=clock.now(),
            trigger=Trigger(type=TriggerType.MANUAL), actions=[LogAction(action_id=1, message="m")],
        ))
        await service.trigger(workflow_id)
    worker = ExecutionWorker(workflows=workflows, executions=executions,
                             actions=ScriptedActionRunner(), clock=clock, record_after_s=0.25)
    commands.names.clear()
    done = await asyncio.gather(*(worker.run(r) for r in publisher.published))
    names = list(commands.names)
    for execution in done:
        assert execution is not None and execution.status == ExecutionStatus.OK
        stored = await executions.get(execution.id)
        assert stored is not None and stored.status == ExecutionStatus.OK
        released = await workflows.get(execution.workflow_id)
        assert released is not None and released.lock is None
        assert released.status == WorkflowStatus.ACTIVE and released.trigger.status is None
    return names


async def test_concurrent_executions_share_their_lock_insert_and_release_commands(
    counted: tuple[Any, Commands],
) -> None:
    db, commands = counted
    alone = await concurrent_runs(db, commands, count=20, coalesce_writes=False)
    assert sorted(alone) == ["findAndModify"] * 20 + ["insert"] * 20 + ["update"] * 20

    shared = await concurrent_runs(db, commands, count=20, coalesce_writes=True)

    # Locks: update_many + a find of the won ones (a lone one: findAndModify); inserts and
    # releases: one command a batch.
    assert len(shared) <= 20, shared
    assert 1 <= shared.count("insert") < 10
    assert 2 <= shared.count("update") < 20
