"""Read endpoints, operations endpoints, the API key and the served docs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.adapters.memory import InMemoryExecutionRepository
from shared.domain.execution_record import attempt_keys, begin_attempt
from shared.domain.models import ActionResult, ActionResultStatus, Execution, ExecutionStatus
from shared.web.ops import ReadyCheck
from tests.fakes import with_result
from tests.fakes.clock import FakeClock
from tests.unit.conftest import CreateWorkflow
from tests.v1 import v1_entries


def utc(text: str) -> datetime:
    """Parse an ISO 8601 string that must carry a zero UTC offset (`Z` or `+00:00`)."""
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0), text
    return moment


async def add_execution(
    executions: InMemoryExecutionRepository, clock: FakeClock, workflow_id: str,
    status: ExecutionStatus,
) -> Execution:
    """Store an execution through the port, as a runner would, one second after the last."""
    clock.advance(1)
    fresh = Execution(
        id=str(uuid.uuid4()), workflow_id=workflow_id, created_at=clock.now(), retries=4,
        total_actions=1,
    )
    stored = begin_attempt(await executions.get_or_create(fresh))
    stored.status = status
    stored = with_result(stored, ActionResult(
        action_id=1, status=ActionResultStatus.FAILED if status != ExecutionStatus.OK
        else ActionResultStatus.OK, logs="stdout: hello",
    ))
    if status != ExecutionStatus.PENDING:
        stored.finished_at = clock.now()
    if status == ExecutionStatus.PENDING:
        stored.retries = 3  # last_failed_action 1: derived from the record
    await executions.save_attempt(stored, changed_actions=attempt_keys(stored))
    return stored


async def test_get_workflow_fields(
    api: httpx.AsyncClient, clock: FakeClock,
) -> None:
    created_at = clock.now()
    body = {"workflowId": "wf", "trigger": {"type": "periodic", "interval": "30s"},
            "actions": [{"type": "http-request", "url": "https://example.com", "method": "put"},
                        {"type": "log", "message": "done"}]}
    assert (await api.post("/workflows", json=body)).status_code == 201

    response = await api.get("/workflows/wf")

    assert response.status_code == 200
    got = response.json()
    assert "_id" not in got
    assert got["workflow_id"] == "wf"
    assert got["status"] == "active"
    assert utc(got["created_at"]) == created_at
    assert got["archived_at"] is None
    trigger = got["trigger"]
    assert (trigger["type"], trigger["interval"], trigger["interval_ms"], trigger["status"]) == (
        "periodic", "30s", 30_000, None
    )
    assert utc(trigger["next_run"]) == created_at + timedelta(seconds=30)
    assert got["actions"] == [
        {"action_id": 1, "type": "http-request", "message": None,
         "url": "https://example.com", "method": "PUT"},
        {"action_id": 2, "type": "log", "message": "done", "url": None, "method": None},
    ]
    assert got["seconds_to_next_run"] == 30


async def test_seconds_to_next_run_counts_down_to_zero(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow, clock: FakeClock,
) -> None:
    await create_workflow("periodic", interval="30s")
    await create_workflow("manual")

    async def left(workflow_id: str = "periodic") -> float:
        value = (await api.get(f"/workflows/{workflow_id}")).json()["seconds_to_next_run"]
        assert isinstance(value, int | float)
        return float(value)

    assert await left() == 30.0
    clock.advance(10.5)
    assert await left() == 19.5
    clock.advance(19.5)
    assert await left() == 0.0
    clock.advance(100)
    assert await left() == 0.0, "overdue is 0, not negative"
    assert await left("manual") == 0.0, "no next run is 0"


async def test_unknown_workflow_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/workflows/missing")

    assert response.status_code == 404
    assert "missing" in response.json()["error"]


async def test_list_workflows_paginates_every_id_once_in_order(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
) -> None:
    ids = [f"wf-{n}" for n in (5, 2, 7, 1, 4, 6, 3)]
    for workflow_id in ids:
        await create_workflow(workflow_id)

    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        response = await api.get("/workflows", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        assert all("_id" not in item for item in page["items"])
        seen += [item["workflow_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and pages < 10

    assert seen == sorted(ids)
    assert pages == 3


async def test_list_workflows_empty_and_default_limit(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
) -> None:
    assert (await api.get("/workflows")).json() == {"items": [], "next_cursor": None}
    await create_workflow("only")

    page = (await api.get("/workflows")).json()

    assert [i["workflow_id"] for i in page["items"]] == ["only"]
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    "query",
    ["cursor=not-a-cursor!", "cursor=e30", "cursor=WzFd", "limit=0", "limit=201", "limit=x"],
)
async def test_list_workflows_bad_query_is_400(api: httpx.AsyncClient, query: str) -> None:
    response = await api.get(f"/workflows?{query}")

    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


async def test_executions_newest_first_paginated_and_filtered(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, clock: FakeClock,
) -> None:
    await create_workflow("wf")
    await create_workflow("other")
    statuses = [ExecutionStatus.OK, ExecutionStatus.FAILED, ExecutionStatus.OK,
                ExecutionStatus.PENDING, ExecutionStatus.OK]
    made = [await add_execution(executions, clock, "wf", s) for s in statuses]
    await add_execution(executions, clock, "other", ExecutionStatus.OK)
    newest_first = [e.id for e in reversed(made)]

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await api.get("/workflows/wf/executions", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first

    ok_only = (await api.get("/workflows/wf/executions", params={"status": "ok"})).json()
    assert [i["id"] for i in ok_only["items"]] == [made[4].id, made[2].id, made[0].id]
    assert all(i["status"] == "ok" for i in ok_only["items"])
    pending = (await api.get("/workflows/wf/executions?status=pending")).json()
    assert [i["id"] for i in pending["items"]] == [made[3].id]
    assert pending["next_cursor"] is None


@pytest.mark.parametrize("query", ["status=running", "cursor=e30", "limit=0"])
async def test_executions_bad_query_is_400(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow, query: str,
) -> None:
    await create_workflow("wf")

    response = await api.get(f"/workflows/wf/executions?{query}")

    assert response.status_code == 400
    assert response.json()["error"]


async def test_executions_of_unknown_workflow_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/workflows/missing/executions")

    assert response.status_code == 404
    assert response.json()["error"]


async def test_get_execution(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
    executions: InMemoryExecutionRepository, clock: FakeClock,
) -> None:
    await create_workflow("wf")
    stored = await add_execution(executions, clock, "wf", ExecutionStatus.PENDING)

    response = await api.get(f"/executions/{stored.id}")

    assert response.status_code == 200
    got = response.json()
    assert "_id" not in got
    assert got["id"] == stored.id and got["workflow_id"] == "wf"
    assert got["status"] == "pending"
    assert utc(got["created_at"]) == stored.created_at
    assert got["finished_at"] is None
    assert (got["retries"], got["last_failed_action"], got["total_actions"]) == (3, 1, 1)
    assert v1_entries(got["executed_actions"]) == [
        {"action_id": 1, "status": "failed", "logs": "stdout: hello"}
    ]
    assert [(e["name"], e["attempt"]) for e in got["executed_actions"]] == [("action-1", 1)]

    missing = await api.get(f"/executions/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["error"]


# --- operations ---------------------------------------------------------------------------


async def test_health(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")

    assert response.status_code == 200
    assert response.json() == {"ok": True}


async def test_ready_reports_each_dependency(
    api: httpx.AsyncClient, ready_checks: dict[str, ReadyCheck],
) -> None:
    ready = await api.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"mongodb": True, "kafka": True, "ok": True}

    async def down() -> bool:
        raise ConnectionError("broker unreachable")

    ready_checks["kafka"] = down
    not_ready = await api.get("/ready")
    assert not_ready.status_code == 503
    assert not_ready.json() == {"mongodb": True, "kafka": False, "ok": False}


async def test_metrics_count_triggers(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow,
) -> None:
    await create_workflow("wf")
    assert (await api.post("/workflows/wf/trigger")).status_code == 200

    response = await api.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'workflow_triggers_total{outcome="accepted"}' in response.text
    assert "http_requests_total" in response.text


async def test_openapi_and_docs_are_served(api: httpx.AsyncClient) -> None:
    schema = await api.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/workflows", "/workflows/{workflow_id}", "/workflows/{workflow_id}/trigger",
                 "/workflows/{workflow_id}/executions", "/executions/{execution_id}"):
        assert path in paths

    docs = await api.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


# --- API key ------------------------------------------------------------------------------

KEY = {"api_key": "s3cret"}
PROTECTED = [
    ("POST", "/workflows"),
    ("GET", "/workflows"),
    ("GET", "/workflows/wf"),
    ("POST", "/workflows/wf/trigger"),
    ("GET", "/workflows/wf/executions"),
    ("GET", "/executions/abc"),
    ("DELETE", "/workflows/wf"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
]
NEW_WORKFLOW = {"workflowId": "wf", "trigger": {"type": "manual"},
                "actions": [{"type": "log", "message": "hi"}]}


@pytest.mark.parametrize("settings", [KEY], indirect=True)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": "S3CRET"}])
async def test_api_key_required(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for method, path in PROTECTED:
        body = NEW_WORKFLOW if method == "POST" and path == "/workflows" else None
        response = await api.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]

    listing = await api.get("/workflows", headers={"X-API-Key": "s3cret"})
    assert listing.json()["items"] == [], "nothing was created without the key"


@pytest.mark.parametrize("settings", [KEY], indirect=True)
async def test_api_key_accepted(api: httpx.AsyncClient) -> None:
    key = {"X-API-Key": "s3cret"}
    expected = [201, 200, 200, 200, 200, 404, 204, 200, 200]

    got = []
    for method, path in PROTECTED:
        body = NEW_WORKFLOW if method == "POST" and path == "/workflows" else None
        got.append((await api.request(method, path, json=body, headers=key)).status_code)

    assert got == expected


@pytest.mark.parametrize("settings", [KEY], indirect=True)
@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
async def test_ops_endpoints_are_open(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)

    assert response.status_code == 200


async def test_datetimes_are_utc_iso(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow, clock: FakeClock,
) -> None:
    clock.set(datetime(2026, 3, 4, 5, 6, 7, 891_000, tzinfo=UTC))
    await create_workflow("wf", interval="1h")

    got = (await api.get("/workflows/wf")).json()

    assert utc(got["created_at"]) == datetime(2026, 3, 4, 5, 6, 7, 891_000, tzinfo=UTC)
    assert utc(got["trigger"]["next_run"]) == datetime(2026, 3, 4, 6, 6, 7, 891_000, tzinfo=UTC)
