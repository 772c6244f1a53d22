"""delay and wait-for-signal (SPEC 11): the execution parks in the database (no runner holds
it), the scheduler wakes it when due, a signal wakes it at once, a timeout fails the action."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.actions import Action, DelayAction, LogAction, WaitForSignalAction
from shared.adapters.memory_versions import InMemoryVersions
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import (
    ActionStatus,
    ExecutionStatus,
    Trigger,
    TriggerStatus,
    TriggerType,
    WaitReason,
    Workflow,
    WorkflowStatus,
)
from tests.fakes import Harness, ScriptedActionRunner
from workflows_svc.lifecycle_service import LifecycleService
from workflows_svc.service import WorkflowService


def chain(workflow_id: str, h: Harness, middle: Action) -> Workflow:
    actions: list[Action] = [LogAction(action_id=1, message="before"), middle,
                             LogAction(action_id=3, message="after")]
    return Workflow(workflow_id=workflow_id, created_at=h.clock.now(),
                    trigger=Trigger(type=TriggerType.MANUAL), actions=actions)


def api(h: Harness) -> WorkflowService:
    return WorkflowService(workflows=h.workflows, executions=h.executions,
                           publisher=h.publisher, clock=h.clock, trigger_rate_limit=0)


async def test_a_delay_parks_the_execution_and_the_scheduler_wakes_it_when_due() -> None:
    h = Harness()
    await h.add(chain("d", h, DelayAction(action_id=2, duration="10s")))
    runner = ScriptedActionRunner()
    parked = await h.worker(runner).run(await h.trigger("d"))

    assert parked is not None and parked.status == ExecutionStatus.PENDING
    assert parked.waiting is not None and parked.waiting.reason == WaitReason.DELAY
    assert parked.waiting.until == h.clock.now() + timedelta(seconds=10)
    assert parked.actions["action-2"].status == ActionStatus.WAITING
    workflow = await h.workflows.get("d")
    assert workflow is not None
    assert (workflow.status, workflow.trigger.status) == (
        WorkflowStatus.ACTIVE, TriggerStatus.WAITING), "the runner let go of the workflow"
    assert workflow.trigger.next_run == parked.waiting.until
    assert workflow.trigger.execution_id == parked.id and workflow.lock is None
    with pytest.raises(Conflict) as refused:
        await api(h).trigger("d")
    assert refused.value.status == "busy"

    h.clock.advance(9)
    assert await h.dispatch_due() == [], "not due yet"
    h.clock.advance(1)
    [wake] = await h.dispatch_due()
    assert wake.execution_id == parked.id
    done = await h.worker(runner).run(wake)

    assert done is not None and done.status == ExecutionStatus.OK and done.waiting is None
    assert runner.ran == [1, 3], "the delay itself runs in no handler; action 1 ran once"
    [delay_run] = done.actions["action-2"].runs
    assert delay_run.duration_ms == 10_000 and delay_run.attempt == 1 == done.attempt
    workflow = await h.workflows.get("d")
    assert workflow is not None and workflow.trigger.status is None


async def test_a_signal_wakes_the_execution_at_once_and_its_payload_is_recorded() -> None:
    h = Harness()
    await h.add(chain("s", h, WaitForSignalAction(action_id=2, name="approval",
                                                  signal="approved")))
    runner = ScriptedActionRunner()
    parked = await h.worker(runner).run(await h.trigger("s"))
    assert parked is not None and parked.waiting is not None
    assert (parked.waiting.reason, parked.waiting.signal, parked.waiting.until) == (
        WaitReason.SIGNAL, "approved", None)
    signals = api(h).signals()

    with pytest.raises(Conflict):
        await signals.deliver(parked.id, "rejected", {})
    with pytest.raises(NotFound):
        await signals.deliver("no-such-execution", "approved", {})
    published = len(h.publisher.published)
    assert await signals.deliver(parked.id, "approved", {"by": "ann", "n": 2}) == "approval"
    with pytest.raises(Conflict):
        await signals.deliver(parked.id, "approved", {"by": "bob"})
    [wake] = h.publisher.published[published:]
    assert wake.execution_id == parked.id

    done = await h.worker(runner).run(wake)
    assert done is not None and done.status == ExecutionStatus.OK
    [run] = done.actions["approval"].runs
    assert run.signal == {"by": "ann", "n": 2} and run.logs == "signal 'approved' received"
    assert runner.ran == [1, 3]


async def test_a_signal_timeout_fails_the_action() -> None:
    h = Harness()
    h.retries = 1
    await h.add(chain("t", h, WaitForSignalAction(action_id=2, signal="go", timeout="1h")))
    runner = ScriptedActionRunner()
    parked = await h.worker(runner).run(await h.trigger("t"))
    assert parked is not None and parked.waiting is not None
    assert parked.waiting.until == h.clock.now() + timedelta(hours=1)

    h.clock.advance(3600)
    [wake] = await h.dispatch_due()
    done = await h.worker(runner).run(wake)
    assert done is not None and done.status == ExecutionStatus.FAILED
    [run] = done.actions["action-2"].runs
    assert run.status.value == "failed" and "timed out after 1h" in run.logs
    assert runner.ran == [1]
    with pytest.raises(Conflict):
        await api(h).signals().deliver(parked.id, "go", {})


def lifecycle_of(h: Harness) -> LifecycleService:
    return LifecycleService(workflows=h.workflows, versions=InMemoryVersions(), clock=h.clock,
                            definitions=api(h))


async def test_a_signal_sent_while_paused_wakes_the_execution_once_resumed() -> None:
    h = Harness()
    await h.add(chain("ps", h, WaitForSignalAction(action_id=2, name="approval",
                                                   signal="approved", timeout="1h")))
    runner = ScriptedActionRunner()
    parked = await h.worker(runner).run(await h.trigger("ps"))
    assert parked is not None and parked.waiting is not None
    await lifecycle_of(h).pause("ps")
    published = len(h.publisher.published)

    assert await api(h).signals().deliver(parked.id, "approved", {"by": "ann"}) == "approval"
    assert h.publisher.published[published:] == [], "paused: not dispatched"
    h.clock.advance(1)
    assert await h.dispatch_due() == [], "paused: the scheduler does not wake it either"

    await lifecycle_of(h).resume("ps")
    [wake] = await h.dispatch_due()  # long before the signal's 1 h timeout
    assert wake.execution_id == parked.id
    done = await h.worker(runner).run(wake)
    assert done is not None and done.status == ExecutionStatus.OK
    [run] = done.actions["approval"].runs
    assert run.signal == {"by": "ann"} and run.status.value == "ok"


async def test_a_delay_due_while_paused_wakes_once_resumed() -> None:
    h = Harness()
    await h.add(chain("pd", h, DelayAction(action_id=2, duration="10s")))
    runner = ScriptedActionRunner()
    parked = await h.worker(runner).run(await h.trigger("pd"))
    assert parked is not None and parked.waiting is not None
    await lifecycle_of(h).pause("pd")
    h.clock.advance(30)
    assert await h.dispatch_due() == [], "paused: its due delay waits"

    await lifecycle_of(h).resume("pd")
    workflow = await h.workflows.get("pd")
    assert workflow is not None and workflow.trigger.status == TriggerStatus.WAITING
    [wake] = await h.dispatch_due()
    done = await h.worker(runner).run(wake)
    assert done is not None and done.status == ExecutionStatus.OK
    assert runner.ran == [1, 3]


async def test_a_failing_due_query_does_not_stop_the_wakes_of_the_same_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Due runs and wakes are found side by side; a failure of one is raised after both end."""
    h = Harness()
    await h.add(chain("d", h, DelayAction(action_id=2, duration="10s")))
    parked = await h.worker(ScriptedActionRunner()).run(await h.trigger("d"))
    assert parked is not None and parked.waiting is not None
    h.clock.advance(10)

    async def unavailable(*_: object, **__: object) -> list[object]:
        raise RuntimeError("the due query failed")

    monkeypatch.setattr(h.workflows, "find_due", unavailable)
    published = len(h.publisher.published)
    with pytest.raises(RuntimeError, match="due query"):
        await h.scheduler().run_once()
    [wake] = h.publisher.published[published:]
    assert wake.execution_id == parked.id
