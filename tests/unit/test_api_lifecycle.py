"""SPEC 12's endpoints on the in-memory stack: PUT and versions, pause and resume, the
list filters, GET /executions, retry and cancel; each outcome (200/202/400/404/409)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.domain.execution_record import attempt_keys, begin_attempt, with_run
from shared.domain.models import (
    ActionResult,
    ActionResultStatus,
    ActionStatus,
    Execution,
    ExecutionStatus,
    TriggerStatus,
    WorkflowStatus,
)
from tests.fakes.clock import FakeClock
from tests.unit.conftest import CreateWorkflow, FinishRun

OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED


def body(workflow_id: str, *messages: str, interval: str | None = None) -> dict[str, Any]:
    trigger = {"type": "periodic", "interval": interval} if interval else {"type": "manual"}
    return {"workflowId": workflow_id, "trigger": trigger,
            "actions": [{"type": "log", "message": m} for m in messages or ("hello",)]}


async def stored_run(
    executions: InMemoryExecutionRepository, clock: FakeClock, workflow_id: str,
    results: list[ActionResultStatus], status: ExecutionStatus, *,
    execution_id: str | None = None,
) -> Execution:
    """An execution whose first attempt ran actions 1.. with `results`, stored as `status`."""
    clock.advance(1)
    fresh = Execution(id=execution_id or str(uuid.uuid4()), workflow_id=workflow_id,
                      created_at=clock.now(), retries=4, total_actions=len(results))
    execution = begin_attempt(await executions.get_or_create(fresh))
    for action_id, result in enumerate(results, start=1):
        action = _Action(action_id)
        execution = with_run(execution, action, ActionResult(
            action_id=action_id, status=result, logs=f"run {action_id}"))
    finished = None if status == ExecutionStatus.PENDING else clock.now()
    execution = execution.model_copy(update={
        "status": status, "finished_at": finished,
        "retries": 0 if status == ExecutionStatus.FAILED else 3,
    })
    await executions.save_attempt(execution, changed_actions=attempt_keys(execution))
    return execution


class _Action:
    def __init__(self, action_id: int) -> None:
        self.action_id = action_id


# --- PUT and versions ---------------------------------------------------------------------


async def test_put_replaces_the_definition_and_keeps_the_old_version(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.post("/workflows", json=body("wf", "v1"))).status_code == 201

    put = await api.put("/workflows/wf", json=body("wf", "v2a", "v2b"))

    assert put.status_code == 200, put.text
    assert put.json() == {"workflowId": "wf", "version": 2}
    got = (await api.get("/workflows/wf")).json()
    assert got["version"] == 2 and got["updated_at"] is not None
    assert [a["message"] for a in got["actions"]] == ["v2a", "v2b"]
    old = (await api.get("/workflows/wf/versions/1")).json()
    assert (old["version"], [a["message"] for a in old["actions"]]) == (1, ["v1"])
    assert old["trigger"] == {"type": "manual", "interval": None, "interval_ms": None}
    current = (await api.get("/workflows/wf/versions/2")).json()
    assert [a["message"] for a in current["actions"]] == ["v2a", "v2b"]
    assert (await api.put("/workflows/wf", json=body("wf", "v3"))).json()["version"] == 3
    assert (await api.get("/workflows/wf/versions/2")).json()["actions"][1]["message"] == "v2b"


async def test_put_outcomes(api: httpx.AsyncClient) -> None:
    assert (await api.post("/workflows", json=body("wf"))).status_code == 201

    other = await api.put("/workflows/wf", json=body("other"))
    assert other.status_code == 400 and "workflowId" in other.json()["error"]
    invalid = await api.put("/workflows/wf", json={**body("wf"), "actions": []})
    assert invalid.status_code == 400
    bad_interval = await api.put("/workflows/wf", json=body("wf", interval="0s"))
    assert bad_interval.status_code == 400 and "trigger.interval" in bad_interval.json()["error"]
    assert (await api.get("/workflows/wf")).json()["version"] == 1, "a 400 stores nothing"
    assert (await api.put("/workflows/nope", json=body("nope"))).status_code == 404
    assert (await api.get("/workflows/wf/versions/2")).status_code == 404
    assert (await api.get("/workflows/nope/versions/1")).status_code == 404
    assert (await api.get("/workflows/wf/versions/0")).status_code == 400

    assert (await api.delete("/workflows/wf")).status_code == 204
    archived = await api.put("/workflows/wf", json=body("wf"))
    assert archived.status_code == 409 and archived.json()["status"] == "archived"


async def test_put_of_the_interval_recomputes_next_run_on_the_grid(
    api: httpx.AsyncClient, clock: FakeClock,
) -> None:
    created_at = clock.now()
    assert (await api.post("/workflows", json=body("p", interval="30s"))).status_code == 201
    clock.advance(25)

    await api.put("/workflows/p", json=body("p", "same trigger", interval="30s"))
    kept = (await api.get("/workflows/p")).json()["trigger"]
    await api.put("/workflows/p", json=body("p", interval="10s"))
    moved = (await api.get("/workflows/p")).json()["trigger"]

    assert kept["next_run"] == (created_at + timedelta(seconds=30)).isoformat().replace(
        "+00:00", "Z")
    assert (moved["interval"], moved["interval_ms"]) == ("10s", 10_000)
    assert moved["next_run"].startswith(
        (created_at + timedelta(seconds=30)).isoformat()[:19]), "next 10s slot after 25s: 30s"
    clock.advance(10)  # 35 s
    await api.put("/workflows/p", json=body("p", interval="20s"))
    assert (await api.get("/workflows/p")).json()["trigger"]["next_run"].startswith(
        (created_at + timedelta(seconds=40)).isoformat()[:19])


async def test_put_of_a_workflow_in_progress_keeps_its_execution_and_retry_time(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow, finish_run: FinishRun,
    clock: FakeClock,
) -> None:
    await create_workflow("m")
    assert (await api.post("/workflows/m/trigger")).status_code == 200
    retry_at = clock.now() + timedelta(seconds=4)
    await finish_run("m", trigger_status=TriggerStatus.PENDING, next_run=retry_at,
                     keep_execution=True)

    assert (await api.put("/workflows/m", json=body("m", "v2"))).json()["version"] == 2

    trigger = (await api.get("/workflows/m")).json()["trigger"]
    assert trigger["status"] == "pending" and trigger["next_run"] is not None


# --- pause and resume ---------------------------------------------------------------------


async def test_pause_refuses_triggers_and_resume_allows_them(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
) -> None:
    await create_workflow("m")

    paused = await api.post("/workflows/m/pause")
    assert paused.status_code == 200 and paused.json()["paused_at"] is not None
    assert (await api.post("/workflows/m/pause")).status_code == 200, "pausing again: no-op"
    refused = await api.post("/workflows/m/trigger")
    assert refused.status_code == 409 and refused.json()["status"] == "paused"

    resumed = await api.post("/workflows/m/resume")
    assert resumed.status_code == 200 and resumed.json()["paused_at"] is None
    assert (await api.post("/workflows/m/resume")).status_code == 200, "resuming again: no-op"
    assert (await api.post("/workflows/m/trigger")).status_code == 200


async def test_a_paused_periodic_workflow_is_not_due_and_resumes_on_the_grid(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    workflows: InMemoryWorkflowRepository, clock: FakeClock,
) -> None:
    created_at = clock.now()
    await create_workflow("p", interval="30s")
    assert (await api.post("/workflows/p/pause")).status_code == 200
    clock.advance(95)

    assert await workflows.find_due(clock.now(), after=None, limit=10) == []
    resumed = (await api.post("/workflows/p/resume")).json()

    assert resumed["trigger"]["next_run"].startswith(
        (created_at + timedelta(seconds=120)).isoformat()[:19]), "missed slots not caught up"
    assert await workflows.find_due(clock.now(), after=None, limit=10) == []


async def test_pause_and_resume_outcomes(api: httpx.AsyncClient,
                                         create_workflow: CreateWorkflow) -> None:
    assert (await api.post("/workflows/nope/pause")).status_code == 404
    assert (await api.post("/workflows/nope/resume")).status_code == 404
    await create_workflow("a")
    assert (await api.delete("/workflows/a")).status_code == 204
    for verb in ("pause", "resume"):
        answer = await api.post(f"/workflows/a/{verb}")
        assert answer.status_code == 409 and answer.json()["status"] == "archived"


# --- list filters -------------------------------------------------------------------------


async def test_list_filters(api: httpx.AsyncClient, create_workflow: CreateWorkflow) -> None:
    await create_workflow("m")
    await create_workflow("p", interval="30s")
    await create_workflow("x")
    await api.post("/workflows/p/pause")
    await api.delete("/workflows/x")
    await api.post("/workflows/m/trigger")

    async def ids(query: str) -> list[str]:
        answer = await api.get(f"/workflows?{query}")
        assert answer.status_code == 200, answer.text
        return [item["workflow_id"] for item in answer.json()["items"]]

    assert await ids("trigger_type=periodic") == ["p"]
    assert await ids("trigger_type=manual") == ["m", "x"]
    assert await ids("paused=true") == ["p"]
    assert await ids("paused=false") == ["m", "x"]
    assert await ids("archived=true") == ["x"]
    assert await ids("archived=false") == ["m", "p"]
    assert await ids("status=scheduled") == ["m"]
    assert await ids("status=active&archived=false") == ["p"]
    assert await ids("trigger_type=manual&limit=1") == ["m"]
    for bad in ("status=asleep", "trigger_type=hourly", "paused=maybe"):
        assert (await api.get(f"/workflows?{bad}")).status_code == 400


# --- GET /executions ----------------------------------------------------------------------


async def test_all_executions_newest_first_filtered_and_paginated(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, clock: FakeClock,
) -> None:
    await create_workflow("a")
    await create_workflow("b")
    made = [
        await stored_run(executions, clock, wf, [result], status)
        for wf, result, status in [
            ("a", OK, ExecutionStatus.OK), ("b", FAILED, ExecutionStatus.FAILED),
            ("a", FAILED, ExecutionStatus.FAILED), ("b", OK, ExecutionStatus.OK),
        ]
    ]

    async def ids(query: str = "") -> list[str]:
        answer = await api.get(f"/executions?{query}")
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert await ids() == [e.id for e in reversed(made)]
    assert await ids("workflow_id=a") == [made[2].id, made[0].id]
    assert await ids("status=failed") == [made[2].id, made[1].id]
    assert await ids("workflow_id=b&status=ok") == [made[3].id]
    assert await ids("workflow_id=nobody") == []
    first = (await api.get("/executions?limit=3")).json()
    rest = (await api.get(f"/executions?limit=3&cursor={first['next_cursor']}")).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == [e.id for e in reversed(made)]
    assert rest["next_cursor"] is None
    assert (await api.get("/executions?cursor=nonsense")).status_code == 400
    assert (await api.get("/executions?status=sleeping")).status_code == 400


async def test_execution_answers_carry_the_spec_12_fields(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, clock: FakeClock,
) -> None:
    await create_workflow("a")
    run = await stored_run(executions, clock, "a", [OK, FAILED], ExecutionStatus.FAILED)

    got = (await api.get(f"/executions/{run.id}")).json()

    assert (got["workflow_version"], got["input"], got["attempt"]) == (1, None, 1)
    assert got["waiting"] is None and got["cancel_requested"] is False
    assert [(e["name"], e["attempt"], e["status"]) for e in got["executed_actions"]] == [
        ("action-1", 1, "ok"), ("action-2", 1, "failed")]
    assert {"started_at", "finished_at", "duration_ms", "response"} <= set(
        got["executed_actions"][0])


# --- retry --------------------------------------------------------------------------------


async def test_retry_reruns_what_did_not_succeed_with_a_fresh_budget(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, workflows: InMemoryWorkflowRepository,
    publisher: InMemoryPublisher, clock: FakeClock,
) -> None:
    await create_workflow("a")
    run = await stored_run(executions, clock, "a", [OK, FAILED], ExecutionStatus.FAILED)

    answer = await api.post(f"/executions/{run.id}/retry")

    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert (got["status"], got["retries"], got["finished_at"]) == ("pending", 4, None)
    stored = await executions.get(run.id)
    assert stored is not None
    assert [stored.actions[k].status for k in ("action-1", "action-2")] == [
        ActionStatus.OK, ActionStatus.FAILED], "action-1 succeeded: it is not run again"
    workflow = await workflows.get("a")
    assert workflow is not None and workflow.status == WorkflowStatus.SCHEDULED
    assert workflow.trigger.execution_id == run.id
    assert [r.execution_id for r in publisher.published] == [run.id]
    again = await api.post(f"/executions/{run.id}/retry")
    assert again.status_code == 409 and again.json()["status"] == "pending"


async def test_retry_from_an_action_reruns_it_and_what_follows(
    api: httpx.AsyncClient, executions: InMemoryExecutionRepository, clock: FakeClock,
) -> None:
    definition = body("c", "one", "two", "three")
    assert (await api.post("/workflows", json=definition)).status_code == 201
    run = await stored_run(executions, clock, "c", [OK, OK, FAILED], ExecutionStatus.FAILED)

    unknown = await api.post(f"/executions/{run.id}/retry", json={"from": "nope"})
    assert unknown.status_code == 400 and "from" in unknown.json()["error"]
    answer = await api.post(f"/executions/{run.id}/retry", json={"from": "action-2"})

    assert answer.status_code == 200, answer.text
    stored = await executions.get(run.id)
    assert stored is not None
    assert [stored.actions[f"action-{n}"].status for n in (1, 2, 3)] == [
        ActionStatus.OK, ActionStatus.PENDING, ActionStatus.PENDING], "from action-2: 2 and 3"


async def test_retry_outcomes(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, clock: FakeClock,
) -> None:
    assert (await api.post(f"/executions/{uuid.uuid4()}/retry")).status_code == 404
    await create_workflow("a")
    ok = await stored_run(executions, clock, "a", [OK], ExecutionStatus.OK)
    not_failed = await api.post(f"/executions/{ok.id}/retry")
    assert not_failed.status_code == 409 and not_failed.json()["status"] == "ok"
    failed = await stored_run(executions, clock, "a", [FAILED], ExecutionStatus.FAILED)

    assert (await api.post("/workflows/a/trigger")).status_code == 200
    busy = await api.post(f"/executions/{failed.id}/retry")
    assert busy.status_code == 409 and busy.json()["status"] == "busy"

    await create_workflow("b")
    other = await stored_run(executions, clock, "b", [FAILED], ExecutionStatus.FAILED)
    await api.post("/workflows/b/pause")
    paused = await api.post(f"/executions/{other.id}/retry")
    assert paused.status_code == 409 and paused.json()["status"] == "paused"
    await api.delete("/workflows/b")
    archived = await api.post(f"/executions/{other.id}/retry")
    assert archived.status_code == 409 and archived.json()["status"] == "archived"
    bad = await api.post(f"/executions/{other.id}/retry", json={"from": 3})
    assert bad.status_code == 400
    stored = await executions.get(other.id)
    assert stored is not None and stored.status == ExecutionStatus.FAILED, "refused: unchanged"


async def test_retry_gives_everything_back_when_the_request_cannot_be_produced(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, workflows: InMemoryWorkflowRepository,
    publisher: InMemoryPublisher, clock: FakeClock,
) -> None:
    await create_workflow("a")
    run = await stored_run(executions, clock, "a", [OK, FAILED], ExecutionStatus.FAILED)
    publisher.fail_next = 1

    answer = await api.post(f"/executions/{run.id}/retry", json={"from": "action-1"})

    assert answer.status_code == 503
    stored = await executions.get(run.id)
    assert stored is not None and stored.status == ExecutionStatus.FAILED
    assert stored.actions["action-1"].status == ActionStatus.OK
    workflow = await workflows.get("a")
    assert workflow is not None and workflow.status == WorkflowStatus.ACTIVE
    assert workflow.trigger.execution_id is None


# --- cancel -------------------------------------------------------------------------------


async def test_cancel_of_a_waiting_retry_is_at_once_and_releases_the_workflow(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow, finish_run: FinishRun,
    executions: InMemoryExecutionRepository, workflows: InMemoryWorkflowRepository,
    clock: FakeClock,
) -> None:
    await create_workflow("m")
    assert (await api.post("/workflows/m/trigger")).status_code == 200
    claimed = await workflows.get("m")
    assert claimed is not None and claimed.trigger.execution_id is not None
    run = await stored_run(executions, clock, "m", [FAILED], ExecutionStatus.PENDING,
                           execution_id=claimed.trigger.execution_id)
    retry_at = clock.now() + timedelta(seconds=4)
    await finish_run("m", trigger_status=TriggerStatus.PENDING, next_run=retry_at,
                     keep_execution=True)

    waiting = (await api.get(f"/executions/{run.id}")).json()["waiting"]
    assert waiting is not None and waiting["reason"] == "backoff"
    assert waiting["until"].startswith(retry_at.isoformat()[:19])
    listed = (await api.get("/executions?status=pending")).json()["items"]
    assert [item["waiting"]["reason"] for item in listed] == ["backoff"]
    answer = await api.post(f"/executions/{run.id}/cancel")

    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["reason"]) == (
        "cancelled", "cancelled by request")
    trigger = (await api.get("/workflows/m")).json()["trigger"]
    assert trigger["status"] is None and trigger["next_run"] is None
    assert (await api.post("/workflows/m/trigger")).status_code == 200, "released"
    again = await api.post(f"/executions/{run.id}/cancel")
    assert again.status_code == 409 and again.json()["status"] == "cancelled"


async def test_cancel_of_a_running_execution_is_requested(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, workflows: InMemoryWorkflowRepository,
    clock: FakeClock,
) -> None:
    await create_workflow("m")
    assert (await api.post("/workflows/m/trigger")).status_code == 200
    workflow = await workflows.get("m")
    assert workflow is not None and workflow.trigger.execution_id is not None
    await executions.get_or_create(Execution(
        id=workflow.trigger.execution_id, workflow_id="m", created_at=clock.now(), retries=4,
        total_actions=1))

    answer = await api.post(f"/executions/{workflow.trigger.execution_id}/cancel")

    assert answer.status_code == 202, answer.text
    assert (answer.json()["status"], answer.json()["cancel_requested"]) == ("pending", True)
    assert (await api.post("/workflows/m/trigger")).status_code == 409, "still running"


async def test_cancel_outcomes(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, clock: FakeClock,
) -> None:
    assert (await api.post(f"/executions/{uuid.uuid4()}/cancel")).status_code == 404
    await create_workflow("a")
    ok = await stored_run(executions, clock, "a", [OK], ExecutionStatus.OK)
    done = await api.post(f"/executions/{ok.id}/cancel")
    assert done.status_code == 409 and done.json()["status"] == "ok"
    failed = await stored_run(executions, clock, "a", [FAILED], ExecutionStatus.FAILED)
    assert (await api.post(f"/executions/{failed.id}/cancel")).status_code == 409
    cancelled = await stored_run(executions, clock, "a", [FAILED], ExecutionStatus.PENDING)
    answer = await api.post(f"/executions/{cancelled.id}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    retried = await api.post(f"/executions/{cancelled.id}/retry")
    assert retried.status_code == 200, "a cancelled execution can be retried"


async def test_a_paused_retry_waits_and_resume_keeps_its_time(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow, finish_run: FinishRun,
    workflows: InMemoryWorkflowRepository, clock: FakeClock,
) -> None:
    await create_workflow("m")
    assert (await api.post("/workflows/m/trigger")).status_code == 200
    retry_at = clock.now() + timedelta(seconds=4)
    await finish_run("m", trigger_status=TriggerStatus.PENDING, next_run=retry_at,
                     keep_execution=True)
    assert (await api.post("/workflows/m/pause")).status_code == 200
    clock.advance(10)

    assert await workflows.find_due(clock.now(), after=None, limit=10) == [], "retry waits"
    resumed = (await api.post("/workflows/m/resume")).json()

    assert resumed["paused_at"] is None and resumed["trigger"]["status"] == "pending"
    [due] = await workflows.find_due(clock.now(), after=None, limit=10)
    assert (due.workflow_id, due.next_run) == ("m", retry_at)
