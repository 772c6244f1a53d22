"""A new execution's insert deferred by RUNNER_RECORD_AFTER_MS: one insert of the outcome for
a short attempt, a pending record once a long one has run that long, and the executions that
are not new (a retry, one whose attempt was interrupted) stored before their attempt."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from shared.adapters.memory import InMemoryExecutionRepository
from shared.domain.models import (
    Action,
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    TriggerStatus,
    WorkflowStatus,
)
from tests.fakes import Harness, ScriptedActionRunner, manual_workflow, periodic_workflow
from tests.polling import eventually

DEADLINE_S = 5.0
WRITES = {"get_or_create", "insert", "save_attempt"}


class CountedExecutions(InMemoryExecutionRepository):
    """The in-memory store, recording the writes made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    async def get_or_create(self, execution: Execution) -> Execution:
        self.writes.append("get_or_create")
        return await super().get_or_create(execution)

    async def insert(self, execution: Execution) -> bool:
        self.writes.append("insert")
        return await super().insert(execution)

    async def save_attempt(
        self, execution: Execution, *, changed_actions: Collection[str],
        expected_retries: int | None = None,
    ) -> bool:
        self.writes.append("save_attempt")
        return await super().save_attempt(
            execution, changed_actions=changed_actions, expected_retries=expected_retries
        )


def harness(record_after_s: float) -> tuple[Harness, CountedExecutions]:
    executions = CountedExecutions()
    return Harness(executions=executions, record_after_s=record_after_s), executions


async def triggered(*, record_after_s: float) -> tuple[Harness, ExecutionRequest, str]:
    """A harness whose manual workflow `wf` was triggered: the request, its execution id."""
    h, _ = harness(record_after_s)
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    assert request.execution_id is not None
    return h, request, request.execution_id


async def assert_ran_all(h: Harness, done: Execution | None, *, writes: list[str]) -> None:
    """`done` ok and stored so, its three actions recorded, with these writes made."""
    assert done is not None and done.status == ExecutionStatus.OK
    assert isinstance(h.executions, CountedExecutions) and h.executions.writes == writes
    stored = await h.executions.get(done.id)
    assert stored is not None and stored.status == ExecutionStatus.OK
    assert [r.action_id for r in stored.executed_actions] == [1, 2, 3]


async def test_a_short_new_run_is_stored_once_by_one_insert_of_its_outcome() -> None:
    h, request, execution_id = await triggered(record_after_s=60)
    stored_while_running: list[Execution | None] = []

    async def probe(action: Action) -> None:
        stored_while_running.append(await h.executions.get(execution_id))

    done = await h.worker(ScriptedActionRunner(hook=probe)).run(request)

    assert stored_while_running == [None, None, None]
    await assert_ran_all(h, done, writes=["insert"])


async def test_a_long_run_is_stored_pending_once_it_ran_record_after_s() -> None:
    h, request, execution_id = await triggered(record_after_s=0.01)
    seen: list[ExecutionStatus] = []

    async def wait_until_stored(action: Action) -> None:
        if action.action_id == 2:
            stored = await eventually(lambda: h.executions.get(execution_id),
                                      timeout_s=DEADLINE_S, what="the pending record")
            seen.append(stored.status)

    done = await h.worker(ScriptedActionRunner(hook=wait_until_stored)).run(request)

    assert seen == [ExecutionStatus.PENDING]
    await assert_ran_all(h, done, writes=["insert", "save_attempt"])


async def test_a_retry_continues_the_stored_execution() -> None:
    h, executions = harness(60)
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    worker = h.worker(ScriptedActionRunner(script={2: ["failed"]}))
    first = await worker.run(request)
    assert first is not None and first.status == ExecutionStatus.PENDING
    assert executions.writes == ["insert"]
    h.clock.advance(4)
    (retry,) = await h.dispatch_due()
    workflow = await h.workflows.get("wf")
    assert workflow is not None and workflow.trigger.fresh_execution is False

    second = await worker.run(retry)

    assert second is not None and second.status == ExecutionStatus.OK
    assert executions.writes == ["insert", "get_or_create", "save_attempt"]
    assert len(await h.execution_of("wf")) == 1


async def test_an_interrupted_new_run_leaves_it_stored_and_its_retry_continues_it() -> None:
    h, executions = harness(60)
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    worker = h.worker(ScriptedActionRunner(script={2: ["raise"]}))

    assert await worker.run(request) is None

    stored = await h.executions.get(request.execution_id or "")
    assert stored is not None and stored.status == ExecutionStatus.PENDING
    workflow = await h.workflows.get("wf")
    assert workflow is not None and workflow.trigger.interrupted_attempts == 1
    h.clock.advance(3600)
    (retry,) = await h.dispatch_due()
    assert (await worker.run(retry)) is not None
    assert executions.writes == ["insert", "get_or_create", "save_attempt"]


async def test_a_stored_execution_with_the_new_id_is_left_as_it_is() -> None:
    h, executions = harness(60)
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    assert request.execution_id is not None
    other = Execution(id=request.execution_id, workflow_id="wf", created_at=h.clock.now(),
                      retries=1, total_actions=3, status=ExecutionStatus.FAILED)
    assert await h.executions.insert(other)

    assert await h.worker(ScriptedActionRunner()).run(request) is None

    assert await h.executions.get(request.execution_id) == other
    workflow = await h.workflows.get("wf")
    assert workflow is not None and workflow.status == WorkflowStatus.ACTIVE
    assert workflow.trigger.status == TriggerStatus.PENDING  # interrupted: it is retried
    assert workflow.trigger.interrupted_attempts == 1


async def test_a_scheduled_run_is_new_and_deferred_too() -> None:
    h, executions = harness(60)
    await h.add(periodic_workflow("p", h.clock, interval_s=10))
    h.clock.advance(10)
    (request,) = await h.dispatch_due()
    workflow = await h.workflows.get("p")
    assert workflow is not None and workflow.trigger.fresh_execution is True

    done = await h.worker(ScriptedActionRunner()).run(request)

    assert done is not None and done.status == ExecutionStatus.OK
    assert executions.writes == ["insert"]


async def test_off_the_execution_is_stored_before_its_attempt() -> None:
    h, executions = harness(0)
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    stored_first: list[bool] = []

    async def probe(action: Action) -> None:
        stored_first.append(await h.executions.get(request.execution_id or "") is not None)

    assert await h.worker(ScriptedActionRunner(hook=probe)).run(request) is not None
    assert stored_first == [True, True, True]
    assert executions.writes == ["get_or_create", "save_attempt"]


async def test_a_cancel_cannot_be_asked_before_it_is_stored() -> None:
    h, _ = harness(60)
    await h.add(manual_workflow("wf", h.clock))
    request = await h.trigger("wf")
    started, go = asyncio.Event(), asyncio.Event()

    async def pause(action: Action) -> None:
        if action.action_id == 2:
            started.set()
            await go.wait()

    running = asyncio.create_task(h.worker(ScriptedActionRunner(hook=pause)).run(request))
    await asyncio.wait_for(started.wait(), timeout=DEADLINE_S)
    assert await h.executions.request_cancel(request.execution_id or "") is False
    go.set()
    done = await running
    assert done is not None and done.status == ExecutionStatus.OK
