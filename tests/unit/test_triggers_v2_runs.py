"""Scheduled runs of the v2 kinds through scheduler and worker on the in-memory adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from shared.actions import Action
from shared.domain.inputs import InputSpec
from shared.domain.models import Trigger, TriggerType, Workflow
from tests.fakes import Harness, ScriptedActionRunner, manual_workflow, periodic_workflow


@pytest.fixture
def h() -> Harness:
    return Harness()


def skipped(reason: str) -> float:
    return REGISTRY.get_sample_value("workflow_skipped_slots_total", {"reason": reason}) or 0.0


def with_trigger(base: Workflow, **fields: object) -> Workflow:
    return base.model_copy(update={"trigger": base.trigger.model_copy(update=fields)})


async def test_a_once_timer_runs_exactly_once(h: Harness) -> None:
    at = h.clock.now() + timedelta(seconds=3)
    timer = with_trigger(periodic_workflow("t", h.clock), type=TriggerType.ONCE, at=at,
                         next_run=at, interval=None, interval_ms=None)
    await h.add(timer)
    worker = h.worker(ScriptedActionRunner())

    assert await h.dispatch_due() == []
    h.clock.advance(3)
    (request,) = await h.dispatch_due()
    await worker.run(request)
    for _ in range(3):
        h.clock.advance(3600)
        assert await h.dispatch_due() == []

    stored = await h.workflows.get("t")
    assert stored is not None and stored.trigger.next_run is None
    assert len(await h.execution_of("t")) == 1


async def test_a_slot_older_than_the_window_is_passed_and_counted(h: Harness) -> None:
    await h.add(with_trigger(periodic_workflow("p", h.clock, interval_s=60),
                             catchup_window="30s", catchup_window_ms=30_000))
    before = skipped("outside_catchup_window")
    h.clock.advance(60 + 45)  # the slot at 60 s is 45 s old

    assert await h.dispatch_due() == []

    stored = await h.workflows.get("p")
    assert stored is not None and stored.trigger.next_run == stored.created_at + timedelta(
        seconds=120
    )
    assert skipped("outside_catchup_window") == before + 1
    h.clock.advance(15)
    assert len(await h.dispatch_due()) == 1


async def test_slots_that_come_during_a_run_are_skipped_and_counted(h: Harness) -> None:
    await h.add(periodic_workflow("s", h.clock, interval_s=10))

    async def slow(action: Action) -> None:
        if action.action_id == 1:
            h.clock.advance(35)  # the slots at 20, 30 and 40 s come while it runs

    before = skipped("overlap")
    h.clock.advance(10)
    (request,) = await h.dispatch_due()
    await h.worker(ScriptedActionRunner(hook=slow)).run(request)

    stored = await h.workflows.get("s")
    assert stored is not None
    assert stored.trigger.next_run == stored.created_at + timedelta(seconds=50)
    assert skipped("overlap") == before + 3


async def test_buffer_one_runs_right_after_the_run_ends(h: Harness) -> None:
    await h.add(with_trigger(periodic_workflow("b", h.clock, interval_s=10),
                             overlap="buffer_one"))

    async def slow(action: Action) -> None:
        if action.action_id == 1:
            h.clock.advance(25)

    h.clock.advance(10)
    (request,) = await h.dispatch_due()
    await h.worker(ScriptedActionRunner(hook=slow)).run(request)

    stored = await h.workflows.get("b")
    assert stored is not None and stored.trigger.next_run == h.clock.now()
    assert len(await h.dispatch_due()) == 1


async def test_the_execution_carries_the_manual_claims_input(h: Harness) -> None:
    declared = {"customer": InputSpec(type="string", required=True),
                "limit": InputSpec(type="integer", default=10)}
    await h.add(manual_workflow("m", h.clock).model_copy(update={
        "inputs": declared,
        "trigger": Trigger(type=TriggerType.MANUAL, input_required=True),
    }))
    request = await h.trigger_with_input("m", {"customer": "acme", "limit": 10})

    execution = await h.worker(ScriptedActionRunner()).run(request)

    assert execution is not None and execution.input == {"customer": "acme", "limit": 10}
    (stored,) = await h.execution_of("m")
    assert stored.input == {"customer": "acme", "limit": 10}


async def test_a_scheduled_execution_carries_the_triggers_input(h: Harness) -> None:
    declared = {"customer": InputSpec(type="string"), "limit": InputSpec("integer", default=5)}
    await h.add(with_trigger(periodic_workflow("p", h.clock), input={"customer": "acme"})
                .model_copy(update={"inputs": declared}))
    h.clock.advance(10)
    (request,) = await h.dispatch_due()

    execution = await h.worker(ScriptedActionRunner()).run(request)

    assert execution is not None and execution.input == {"customer": "acme", "limit": 5}


async def test_a_v1_workflow_has_no_input(h: Harness) -> None:
    await h.add(manual_workflow("v1", h.clock))
    execution = await h.worker(ScriptedActionRunner()).run(await h.trigger("v1"))
    assert execution is not None and execution.input is None
