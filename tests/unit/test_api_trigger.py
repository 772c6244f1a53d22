"""POST /workflows/{id}/trigger outcomes (archiving: test_api_archive.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.domain.models import Execution, ExecutionStatus, TriggerStatus, WorkflowStatus
from shared.ports import TriggerClaim
from tests.fakes.clock import FakeClock
from tests.unit.conftest import CreateWorkflow, FinishRun

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


async def test_a_claim_run_before_it_was_read_back_is_accepted_not_refused(
    api: httpx.AsyncClient,
    wf: str,
    workflows: InMemoryWorkflowRepository,
    executions: InMemoryExecutionRepository,
    publisher: InMemoryPublisher,
    clock: FakeClock,
    finish_run: FinishRun,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch reads its winners by their new execution ids: a redelivered request that ran
    and released the workflow in between hides a won claim, which the stored execution shows."""
    claim = workflows.claim_for_trigger

    async def won_then_run_by_a_redelivered_request(request: TriggerClaim) -> bool:
        assert await claim(request)
        await executions.insert(Execution(
            id=request.execution_id, workflow_id=request.workflow_id, created_at=clock.now(),
            retries=0, total_actions=1, status=ExecutionStatus.OK, finished_at=clock.now()))
        await finish_run(request.workflow_id)  # released: the execution id is cleared
        return False  # what the batch's read-back concluded

    monkeypatch.setattr(workflows, "claim_for_trigger", won_then_run_by_a_redelivered_request)

    answered = await trigger(api)

    assert answered.status_code == 200, answered.text
    execution_id = answered.headers["Location"].removeprefix("/executions/")
    assert await executions.get(execution_id) is not None
    assert publisher.published == []  # it ran: nothing left to send


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


async def test_the_answer_names_the_execution_it_started_in_location(
    api: httpx.AsyncClient, wf: str, publisher: InMemoryPublisher,
) -> None:
    first = await trigger(api)
    [request] = publisher.published

    assert first.json() == TRIGGERED, "the v1 body is unchanged"
    assert first.headers["location"] == f"/executions/{request.execution_id}"
    second = await trigger(api)  # still running: refused, naming nothing
    assert second.status_code == 409 and "location" not in second.headers
    doc = (await api.get("/openapi.json")).json()
    answer = doc["paths"]["/workflows/{workflow_id}/trigger"]["post"]["responses"]["200"]
    assert "Location" in answer["headers"]
