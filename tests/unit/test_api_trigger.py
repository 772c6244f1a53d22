"""POST /workflows/{id}/trigger outcomes and DELETE /workflows/{id} (archiving)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from runner_svc.worker import ExecutionWorker
from scheduler_svc.scheduler import Scheduler
from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.clock import FakeClock
from shared.models import Action, ExecutionStatus, TriggerStatus, WorkflowStatus
from shared.ports import TriggerClaim
from shared.settle import ARCHIVED_REASON
from tests.unit.conftest import CreateWorkflow, FinishRun
from tests.unit.fakes import ScriptedActionRunner

TRIGGERED = {"status": "workflow triggered"}
DEADLINE_S = 5.0


@pytest_asyncio.fixture
async def wf(create_workflow: CreateWorkflow) -> str:
    """A manual workflow "wf", created before the test body runs."""
    await create_workflow("wf")
    return "wf"


async def trigger(api: httpx.AsyncClient, workflow_id: str = "wf") -> httpx.Response:
    return await api.post(f"/workflows/{workflow_id}/trigger")


async def test_trigger_claims_and_publishes_one_request(
    api: httpx.AsyncClient,
    wf: str,
    publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository,
) -> None:
    response = await trigger(api)

    assert response.status_code == 200, response.text
    assert response.json() == TRIGGERED
    assert [r.workflow_id for r in publisher.published] == ["wf"]
    stored = await workflows.get("wf")
    assert stored is not None
    assert stored.status == WorkflowStatus.SCHEDULED
    assert stored.trigger.status == TriggerStatus.BUSY
    assert stored.trigger.execution_id == publisher.published[0].execution_id


async def test_unknown_workflow_is_404(
    api: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    response = await trigger(api, "nope")

    assert response.status_code == 404
    assert "nope" in response.json()["error"]
    assert publisher.published == []


async def test_periodic_workflow_is_400(
    api: httpx.AsyncClient,
    create_workflow: CreateWorkflow,
    publisher: InMemoryPublisher,
) -> None:
    await create_workflow("every-minute", interval="1m")

    response = await trigger(api, "every-minute")

    assert response.status_code == 400
    assert response.json()["error"] == "Periodic workflows cannot be triggered manually"
    assert publisher.published == []


async def test_busy_while_scheduled_and_while_locked(
    api: httpx.AsyncClient,
    wf: str,
    publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository,
    clock: FakeClock,
) -> None:
    assert (await trigger(api)).status_code == 200

    while_scheduled = await trigger(api)
    locked = await workflows.lock("wf", token="t", lease_until=clock.now() + timedelta(seconds=60))
    assert locked is not None
    while_locked = await trigger(api)

    for response in (while_scheduled, while_locked):
        assert response.status_code == 409
        assert response.json()["status"] == "busy"
        assert response.json()["error"]
    assert len(publisher.published) == 1


async def test_pending_retry_is_409_with_next_retry_at(
    api: httpx.AsyncClient,
    wf: str,
    publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository,
    clock: FakeClock,
    finish_run: FinishRun,
) -> None:
    assert (await trigger(api)).status_code == 200
    retry_at = clock.now() + timedelta(seconds=4)
    await finish_run(
        "wf", trigger_status=TriggerStatus.PENDING, next_run=retry_at, keep_execution=True
    )

    response = await trigger(api)

    assert response.status_code == 409
    payload = response.json()
    assert payload["status"] == "pending"
    assert payload["error"]
    assert datetime.fromisoformat(payload["nextRetryAt"]) == retry_at
    assert len(publisher.published) == 1
    stored = await workflows.get("wf")
    assert stored is not None and stored.trigger.status == TriggerStatus.PENDING


async def test_idle_again_after_the_run_is_released(
    api: httpx.AsyncClient,
    wf: str,
    publisher: InMemoryPublisher,
    finish_run: FinishRun,
) -> None:
    assert (await trigger(api)).status_code == 200
    await finish_run("wf")

    response = await trigger(api)

    assert response.status_code == 200
    assert len(publisher.published) == 2
    assert publisher.published[0].execution_id != publisher.published[1].execution_id


async def test_rate_limit_429_then_window_resets(
    api: httpx.AsyncClient,
    create_workflow: CreateWorkflow,
    publisher: InMemoryPublisher,
    clock: FakeClock,
    finish_run: FinishRun,
) -> None:
    await create_workflow("wf")
    await create_workflow("other")
    clock.advance(15)  # the fake clock starts on a minute boundary
    for _ in range(60):
        assert (await trigger(api)).status_code == 200
        await finish_run("wf")

    limited = await trigger(api)

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "45"
    assert limited.json()["error"]
    assert len(publisher.published) == 60
    assert (await trigger(api, "other")).status_code == 200, "per workflow"

    clock.advance(44)
    assert (await trigger(api)).status_code == 429
    clock.advance(1)
    assert (await trigger(api)).status_code == 200


async def test_busy_refusal_is_409_even_when_the_run_ends_before_it_is_explained(
    api: httpx.AsyncClient,
    wf: str,
    workflows: InMemoryWorkflowRepository,
    finish_run: FinishRun,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 13 #17: a busy refusal read the workflow idle again and answered 429."""
    claim = workflows.claim_for_trigger

    async def claim_then_the_run_ends(request: TriggerClaim) -> bool:
        won = await claim(request)
        if not won:  # the runner releases between the failed claim and the refusal's read
            await finish_run("wf")
        return won

    monkeypatch.setattr(workflows, "claim_for_trigger", claim_then_the_run_ends)
    assert (await trigger(api)).status_code == 200

    refused = await trigger(api)

    assert refused.status_code == 409, refused.text
    assert refused.json()["status"] == "busy"
    assert "Retry-After" not in refused.headers


@pytest.mark.parametrize("settings", [{"trigger_rate_limit": 0}], indirect=True)
async def test_rate_limit_zero_disables_it(
    api: httpx.AsyncClient,
    wf: str,
    publisher: InMemoryPublisher,
    finish_run: FinishRun,
) -> None:
    for _ in range(75):
        assert (await trigger(api)).status_code == 200
        await finish_run("wf")

    assert len(publisher.published) == 75


async def test_concurrent_triggers_have_exactly_one_winner(
    api: httpx.AsyncClient,
    wf: str,
    publisher: InMemoryPublisher,
) -> None:
    responses = await asyncio.gather(*(trigger(api) for _ in range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19
    assert all(r.json()["status"] == "busy" for r in responses if r.status_code == 409)
    assert [r.workflow_id for r in publisher.published] == ["wf"]


@pytest.mark.parametrize("settings", [{"trigger_rate_limit": 1}], indirect=True)
async def test_publish_failure_is_503_and_undoes_the_claim(
    api: httpx.AsyncClient,
    wf: str,
    publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository,
) -> None:
    publisher.fail_next = 1

    failed = await trigger(api)

    assert failed.status_code == 503
    assert failed.json()["error"]
    assert publisher.published == []
    stored = await workflows.get("wf")
    assert stored is not None
    assert stored.status == WorkflowStatus.ACTIVE and stored.trigger.status is None
    # the limit is 1 per minute: the failed attempt must not have used it up
    retried = await trigger(api)
    assert retried.status_code == 200, retried.text
    assert [r.workflow_id for r in publisher.published] == ["wf"]


async def test_archived_workflow_is_refused_not_scheduled_but_readable(
    api: httpx.AsyncClient,
    create_workflow: CreateWorkflow,
    publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository,
    clock: FakeClock,
) -> None:
    await create_workflow("manual")
    await create_workflow("periodic-archived", interval="10s")
    await create_workflow("periodic-live", interval="10s")

    archived_at = clock.now()
    for workflow_id in ("manual", "periodic-archived"):
        deleted = await api.delete(f"/workflows/{workflow_id}")
        assert deleted.status_code == 204
        assert deleted.content == b""

    refused = await trigger(api, "manual")
    assert refused.status_code == 409
    assert refused.json()["status"] == "archived"
    assert refused.json()["error"]
    assert publisher.published == []

    clock.advance(60)
    due = await workflows.find_due(clock.now(), after=None, limit=10)
    assert [d.workflow_id for d in due] == ["periodic-live"]

    for workflow_id in ("manual", "periodic-archived"):
        read = await api.get(f"/workflows/{workflow_id}")
        assert read.status_code == 200
        assert datetime.fromisoformat(read.json()["archived_at"]) == archived_at
        history = await api.get(f"/workflows/{workflow_id}/executions")
        assert history.status_code == 200
    live = await api.get("/workflows/periodic-live")
    assert live.json()["archived_at"] is None


async def test_delete_unknown_is_404_and_delete_is_idempotent(
    api: httpx.AsyncClient,
    create_workflow: CreateWorkflow,
    workflows: InMemoryWorkflowRepository,
    clock: FakeClock,
) -> None:
    missing = await api.delete("/workflows/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]

    await create_workflow("wf")
    archived_at = clock.now()
    assert (await api.delete("/workflows/wf")).status_code == 204
    clock.advance(5)
    assert (await api.delete("/workflows/wf")).status_code == 204

    stored = await workflows.get("wf")
    assert stored is not None and stored.archived_at == archived_at


# --- archiving settles what it stops (issue 13 #2, #3) -----------------------------------


def runner(
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    clock: FakeClock, actions: ScriptedActionRunner,
) -> ExecutionWorker:
    return ExecutionWorker(workflows=workflows, executions=executions, actions=actions, clock=clock)


def scheduler(
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    clock: FakeClock,
) -> Scheduler:
    return Scheduler(
        workflows=workflows, executions=executions, publisher=InMemoryPublisher(), clock=clock
    )


async def assert_archived_idle(api: httpx.AsyncClient, workflow_id: str = "wf") -> None:
    read = (await api.get(f"/workflows/{workflow_id}")).json()
    assert (read["status"], read["trigger"]["status"], read["trigger"]["next_run"]) == (
        "active", None, None
    )
    assert (await trigger(api, workflow_id)).json()["status"] == "archived"


async def only_execution(api: httpx.AsyncClient, workflow_id: str = "wf") -> dict[str, Any]:
    (item,) = (await api.get(f"/workflows/{workflow_id}/executions")).json()["items"]
    assert isinstance(item, dict)
    return item


async def test_archiving_while_a_retry_waits_cancels_that_execution(
    api: httpx.AsyncClient, wf: str, publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    clock: FakeClock,
) -> None:
    """Issue 13 #2: the execution stayed `pending` forever, the workflow `pending`."""
    assert (await trigger(api)).status_code == 200
    failing = runner(workflows, executions, clock, ScriptedActionRunner(always_fail={1}))
    failed = await failing.run(publisher.published[0])
    assert failed is not None and failed.status == ExecutionStatus.PENDING
    clock.advance(1)

    assert (await api.delete("/workflows/wf")).status_code == 204

    item = await only_execution(api)
    assert (item["id"], item["status"]) == (failed.id, "cancelled")
    assert datetime.fromisoformat(item["finished_at"]) == clock.now()
    assert item["reason"] == ARCHIVED_REASON
    assert item["executed_actions"][0]["status"] == "failed"  # its history is kept
    await assert_archived_idle(api)
    clock.advance(3600)
    assert (await scheduler(workflows, executions, clock).run_once()).dispatched == 0


async def test_archiving_while_it_runs_then_fails_cancels_it_by_the_next_tick(
    api: httpx.AsyncClient, wf: str, publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    clock: FakeClock,
) -> None:
    """Issue 13 #2: a run in progress when archived released into a retry nobody dispatches."""
    assert (await trigger(api)).status_code == 200
    started, go = asyncio.Event(), asyncio.Event()

    async def hold(_: Action) -> None:
        started.set()
        await go.wait()

    actions = ScriptedActionRunner(always_fail={1}, hook=hold)
    run = asyncio.create_task(runner(workflows, executions, clock, actions).run(
        publisher.published[0]
    ))
    await asyncio.wait_for(started.wait(), timeout=DEADLINE_S)
    assert (await api.delete("/workflows/wf")).status_code == 204
    go.set()
    failed = await asyncio.wait_for(run, timeout=DEADLINE_S)
    assert failed is not None and failed.status == ExecutionStatus.PENDING

    report = await scheduler(workflows, executions, clock).run_once()

    assert report.cancelled == 1
    item = await only_execution(api)
    assert (item["id"], item["status"], item["reason"]) == (failed.id, "cancelled", ARCHIVED_REASON)
    assert item["finished_at"] is not None
    await assert_archived_idle(api)
    assert (await scheduler(workflows, executions, clock).run_once()).cancelled == 0


async def test_a_trigger_archived_before_any_runner_claims_it_is_recorded_cancelled(
    api: httpx.AsyncClient, wf: str, publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    clock: FakeClock,
) -> None:
    """Issue 13 #3: the 200 left no record at all."""
    assert (await trigger(api)).status_code == 200
    (request,) = publisher.published
    clock.advance(2)

    assert (await api.delete("/workflows/wf")).status_code == 204
    actions = ScriptedActionRunner()
    assert await runner(workflows, executions, clock, actions).run(request) is None

    assert actions.ran == []
    item = await only_execution(api)
    assert (item["id"], item["status"], item["reason"]) == (
        request.execution_id, "cancelled", ARCHIVED_REASON
    )
    assert datetime.fromisoformat(item["finished_at"]) == clock.now()
    assert datetime.fromisoformat(item["created_at"]) == clock.now() - timedelta(seconds=2)
    assert item["executed_actions"] == [] and item["total_actions"] == 1
    await assert_archived_idle(api)
    cancelled = (await api.get("/workflows/wf/executions?status=cancelled")).json()["items"]
    assert [i["id"] for i in cancelled] == [request.execution_id]
