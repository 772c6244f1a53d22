"""DELETE /workflows/{id}: archiving refuses triggers and settles what it stops (#2, #3)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio

from runner_svc.worker import ExecutionWorker
from scheduler_svc.scheduler import Scheduler
from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.domain.models import Action, ExecutionStatus
from shared.service_layer.settle import ARCHIVED_REASON
from tests.fakes import ScriptedActionRunner
from tests.fakes.clock import FakeClock
from tests.unit.conftest import CreateWorkflow

DEADLINE_S = 5.0


@pytest_asyncio.fixture
async def wf(create_workflow: CreateWorkflow) -> str:
    """A manual workflow "wf", created before the test body runs."""
    await create_workflow("wf")
    return "wf"


async def trigger(api: httpx.AsyncClient, workflow_id: str = "wf") -> httpx.Response:
    return await api.post(f"/workflows/{workflow_id}/trigger")


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
