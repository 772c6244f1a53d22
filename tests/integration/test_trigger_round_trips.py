"""The README's count of the manual trigger's DB round trips is what it sends to MongoDB
(issue 13 #18, issue 15): 1 in every case, the rate window included (one update whose
pipeline opens a new window or counts in the current one); concurrent triggers share one."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from shared.actions import LogAction
from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.adapters.memory import InMemoryPublisher
from shared.adapters.mongo import MongoExecutionRepository, MongoWorkflowRepository
from shared.domain.models import Trigger, TriggerType, Workflow
from shared.ports import Release
from tests.fakes.clock import FakeClock
from tests.integration.conftest import Commands
from workflows_svc.service import WorkflowService

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parents[2] / "README.md"


async def trips_per_trigger(db: Any, commands: Commands, *, rate_limit: int) -> list[int]:
    """Round trips of two accepted triggers of one workflow in one minute."""
    clock = FakeClock()
    workflows = MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER)
    service = WorkflowService(
        workflows=workflows, executions=MongoExecutionRepository(db["executions"],
                                                                 EXECUTION_HANDLER),
        publisher=InMemoryPublisher(), clock=clock, trigger_rate_limit=rate_limit,
    )
    workflow_id = f"wf-{uuid.uuid4().hex[:8]}"
    await workflows.create(Workflow(
        workflow_id=workflow_id, created_at=clock.now(), trigger=Trigger(type=TriggerType.MANUAL),
        actions=[LogAction(action_id=1, message="m")],
    ))
    trips = []
    for _ in range(2):
        commands.names.clear()
        await service.trigger(workflow_id)
        trips.append(len(commands.names))
        await finish(workflows, workflow_id, clock)
        clock.advance(1)
    return trips


async def finish(workflows: MongoWorkflowRepository, workflow_id: str, clock: FakeClock) -> None:
    """Play the runner: lock the scheduled workflow and release it idle."""
    token = uuid.uuid4().hex
    assert await workflows.lock(workflow_id, token=token, lease_until=clock.now())
    assert await workflows.release(Release(workflow_id=workflow_id, lock_token=token,
                                           trigger_status=None, next_run=None,
                                           execution_id=None))


def readme() -> str:
    return " ".join(README.read_text().split())


async def test_the_readme_states_the_trigger_round_trips_the_code_makes(
    counted: tuple[Any, Commands],
) -> None:
    db, commands = counted
    new_window, same_window = await trips_per_trigger(db, commands, rate_limit=60)
    limit_off = await trips_per_trigger(db, commands, rate_limit=0)

    assert (new_window, same_window, limit_off) == (1, 1, [1, 1])
    claim = re.search(r"the API's trigger makes (\d+) round trip", readme())
    assert claim, "README: 'the API's trigger makes N round trip(s)'"
    assert int(claim[1]) == new_window == same_window


async def concurrent_triggers(db: Any, commands: Commands, *, count: int,
                              coalesce_writes: bool) -> list[str]:
    """The commands of `count` concurrent accepted triggers of as many workflows."""
    clock = FakeClock()
    workflows = MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER,
                                        coalesce_writes=coalesce_writes)
    publisher = InMemoryPublisher()
    service = WorkflowService(
        workflows=workflows, executions=MongoExecutionRepository(db["executions"],
                                                                 EXECUTION_HANDLER),
        publisher=publisher, clock=clock, trigger_rate_limit=60,
    )
    ids = [f"wf-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    for workflow_id in ids:
        await workflows.create(Workflow(
            workflow_id=workflow_id, created_at=clock.now(),
            trigger=Trigger(type=TriggerType.MANUAL), actions=[LogAction(action_id=1, message="m")],
        ))
    commands.names.clear()
    executions = await asyncio.gather(*(service.trigger(workflow_id) for workflow_id in ids))
    names = list(commands.names)
    assert sorted(r.execution_id for r in publisher.published) == sorted(executions)
    for workflow_id, execution_id in zip(ids, executions, strict=True):
        stored = await workflows.get(workflow_id)
        assert stored is not None and stored.trigger.execution_id == execution_id
    return names


async def test_concurrent_triggers_share_their_claim_command(
    counted: tuple[Any, Commands],
) -> None:
    db, commands = counted
    alone = await concurrent_triggers(db, commands, count=20, coalesce_writes=False)
    assert alone == ["update"] * 20

    shared = await concurrent_triggers(db, commands, count=20, coalesce_writes=True)

    # Claims queued together go as one update_many (all won: nothing read back).
    assert shared == ["update"] * len(shared) and len(shared) < 5, shared
