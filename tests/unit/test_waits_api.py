"""The API over parked executions (SPEC 11, 12), on the in-memory stack with a real worker:
`waiting` says why and until when (delay, signal, backoff), and a cancel of an execution
parked in a delay or a wait-for-signal ends it at once and releases its workflow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.domain.models import ExecutionRequest, ExecutionStatus
from tests.fakes import Harness, ScriptedActionRunner
from tests.fakes.clock import FakeClock

Json = dict[str, Any]
DELAY: Json = {"type": "delay", "duration": "10s"}
SIGNAL: Json = {"type": "wait-for-signal", "name": "approval", "signal": "approved",
                "timeout": "1h"}
SIGNAL_ONLY: Json = {"type": "wait-for-signal", "name": "approval", "signal": "approved"}


@pytest.fixture
def harness(
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    publisher: InMemoryPublisher, clock: FakeClock,
) -> Harness:
    """A worker and a scheduler on the same in-memory stores as the `api` app."""
    return Harness(clock=clock, workflows=workflows, executions=executions, publisher=publisher)


async def parked_run(api: httpx.AsyncClient, harness: Harness, workflow_id: str,
                     middle: Json, runner: ScriptedActionRunner | None = None) -> Json:
    """Create and trigger [log, middle, log], run it until it parks; GET of its execution."""
    body = {"workflowId": workflow_id, "trigger": {"type": "manual"}, "actions": [
        {"type": "log", "message": "before"}, middle, {"type": "log", "message": "after"}]}
    assert (await api.post("/workflows", json=body)).status_code == 201
    triggered = await api.post(f"/workflows/{workflow_id}/trigger")
    assert triggered.status_code == 200, triggered.text
    request = harness.publisher.published[-1]
    parked = await harness.worker(runner or ScriptedActionRunner()).run(request)
    assert parked is not None and parked.status == ExecutionStatus.PENDING
    answer = await api.get(f"/executions/{parked.id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def until_of(waiting: Json) -> datetime | None:
    until = waiting["until"]
    return None if until is None else datetime.fromisoformat(until.replace("Z", "+00:00"))


async def test_waiting_says_delay_until_its_end(
    api: httpx.AsyncClient, harness: Harness, clock: FakeClock,
) -> None:
    got = await parked_run(api, harness, "d", DELAY)
    assert got["waiting"]["reason"] == "delay" and got["waiting"]["signal"] is None
    assert until_of(got["waiting"]) == clock.now() + timedelta(seconds=10)
    listed = (await api.get("/executions?status=pending")).json()["items"]
    assert [item["waiting"] for item in listed] == [got["waiting"]]


@pytest.mark.parametrize(("action", "timeout_s"), [(SIGNAL, 3600), (SIGNAL_ONLY, None)])
async def test_waiting_says_signal_with_its_name_and_timeout(
    api: httpx.AsyncClient, harness: Harness, clock: FakeClock, action: Json,
    timeout_s: int | None,
) -> None:
    got = await parked_run(api, harness, "s", action)
    expected = None if timeout_s is None else clock.now() + timedelta(seconds=timeout_s)
    assert (got["waiting"]["reason"], got["waiting"]["signal"]) == ("signal", "approved")
    assert until_of(got["waiting"]) == expected


async def test_waiting_says_backoff_until_the_retry(
    api: httpx.AsyncClient, harness: Harness, clock: FakeClock,
) -> None:
    runner = ScriptedActionRunner(script={2: ["failed"]})
    got = await parked_run(api, harness, "b", {"type": "log", "message": "flaky"}, runner)
    workflow = await harness.workflows.get("b")
    assert workflow is not None and workflow.trigger.next_run is not None
    assert got["waiting"]["reason"] == "backoff" and got["waiting"]["signal"] is None
    assert until_of(got["waiting"]) == workflow.trigger.next_run > clock.now()


@pytest.mark.parametrize("middle", [DELAY, SIGNAL], ids=["delay", "signal"])
async def test_cancel_of_a_parked_execution_is_at_once_and_releases_the_workflow(
    api: httpx.AsyncClient, harness: Harness, clock: FakeClock, middle: Json,
) -> None:
    parked = await parked_run(api, harness, "c", middle)

    answer = await api.post(f"/executions/{parked['id']}/cancel")

    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "cancelled by request")
    assert cancelled["waiting"] is None and cancelled["finished_at"] is not None
    trigger = (await api.get("/workflows/c")).json()["trigger"]
    assert (trigger["status"], trigger["next_run"]) == (None, None), "released"
    signal = await api.post(f"/executions/{parked['id']}/signals/approved", json={})
    assert signal.status_code == 409, "a cancelled execution takes no signal"
    clock.advance(3600)
    assert await harness.dispatch_due() == [], "nothing wakes the cancelled execution"
    retriggered = await api.post("/workflows/c/trigger")
    assert retriggered.status_code == 200, "the workflow runs again"
    fresh = harness.publisher.published[-1]
    assert fresh != ExecutionRequest(workflow_id="c", execution_id=parked["id"])
