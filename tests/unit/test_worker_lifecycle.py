"""The runner's side of SPEC 12: a run finishes on the version it started with, and a
cancel asked while it runs stops it before its next action."""

from __future__ import annotations

import asyncio

from shared.adapters.memory import InMemoryVersions
from shared.domain.definition import TriggerSpec, WorkflowDefinition
from shared.domain.models import (
    Action,
    ExecutionStatus,
    TriggerType,
    WorkflowStatus,
)
from tests.fakes import Harness, ScriptedActionRunner, make_actions, manual_workflow
from tests.polling import eventually
from workflows_svc.lifecycle_service import LifecycleService
from workflows_svc.service import WorkflowService

DEADLINE_S = 5.0


def pausing_at(action_id: int, started: asyncio.Event, go: asyncio.Event) -> ScriptedActionRunner:
    async def hook(action: Action) -> None:
        if action.action_id == action_id:
            started.set()
            await asyncio.wait_for(go.wait(), timeout=DEADLINE_S)
    return ScriptedActionRunner(hook=hook)


async def test_a_run_finishes_on_its_version_and_the_next_uses_the_new_one() -> None:
    h, versions = Harness(), InMemoryVersions()
    await h.add(manual_workflow("wf", h.clock))  # three actions
    service = WorkflowService(workflows=h.workflows, executions=h.executions,
                              publisher=h.publisher, clock=h.clock)
    lifecycle = LifecycleService(workflows=h.workflows, versions=versions, clock=h.clock,
                                 definitions=service)
    actions = ScriptedActionRunner(script={2: ["failed"]})
    worker = h.worker(actions, versions=versions)  # type: ignore[arg-type]
    first = await worker.run(await h.trigger("wf"))
    assert first is not None and first.status == ExecutionStatus.PENDING

    replaced = await lifecycle.replace(WorkflowDefinition(
        "wf", TriggerSpec(TriggerType.MANUAL), make_actions(["log"])))
    h.clock.advance(60)
    [retry] = await h.dispatch_due()
    done = await worker.run(retry)

    assert replaced.version == 2
    assert done is not None and done.status == ExecutionStatus.OK
    assert (actions.ran, done.workflow_version) == ([1, 2, 2, 3], 1), "v1's actions 2 and 3"
    after = await worker.run(await h.trigger("wf"))
    assert after is not None and (actions.ran[4:], after.workflow_version) == ([1], 2)
    assert after.total_actions == 1


async def test_a_cancel_asked_while_running_stops_before_the_next_action() -> None:
    h = Harness(record_after_s=0.01)  # stored, and so cancellable, once it ran 10 ms
    await h.add(manual_workflow("wf", h.clock))
    started, go = asyncio.Event(), asyncio.Event()
    actions = pausing_at(2, started, go)
    request = await h.trigger("wf")
    running = asyncio.create_task(h.worker(actions).run(request))
    await asyncio.wait_for(started.wait(), timeout=DEADLINE_S)

    assert request.execution_id is not None
    execution_id = request.execution_id
    await eventually(lambda: h.executions.get(execution_id), timeout_s=DEADLINE_S,
                     what="the running execution stored")
    assert await h.executions.request_cancel(execution_id)
    go.set()
    done = await running

    assert done is not None and done.status == ExecutionStatus.CANCELLED
    assert actions.ran == [1, 2], "action 3 never started"
    assert done.reason == "cancelled by request" and done.finished_at is not None
    workflow = await h.workflows.get("wf")
    assert workflow is not None and workflow.status == WorkflowStatus.ACTIVE
    assert workflow.trigger.status is None and workflow.trigger.execution_id is None


async def test_a_cancel_asked_after_the_last_action_leaves_it_ok() -> None:
    h = Harness()
    await h.add(manual_workflow("wf", h.clock))
    started, go = asyncio.Event(), asyncio.Event()
    request = await h.trigger("wf")
    running = asyncio.create_task(h.worker(pausing_at(3, started, go)).run(request))
    await asyncio.wait_for(started.wait(), timeout=DEADLINE_S)

    assert request.execution_id is not None
    await h.executions.request_cancel(request.execution_id)
    go.set()
    done = await running

    assert done is not None and done.status == ExecutionStatus.OK
