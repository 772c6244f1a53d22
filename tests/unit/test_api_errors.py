"""Error answers: forged cursors, and no 500 without the JSON error body (issue 13 #4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from shared.adapters.memory import InMemoryExecutionRepository
from shared.domain.models import Execution
from shared.infra.settings import Settings
from shared.web.ops import ReadyCheck
from tests.unit.conftest import CreateWorkflow
from workflows_svc.app import Wired, create_app
from workflows_svc.service import WorkflowService
from workflows_svc.views import encode_cursor

FORGED_POSITIONS = [
    "9999-12-31T23:59:59-14:00",  # past year 9999 in UTC: BSON cannot encode it
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "2026-01-01T00:00:00",  # no UTC offset
]


@pytest.mark.parametrize("position", FORGED_POSITIONS)
async def test_forged_execution_cursor_is_400(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow, position: str,
) -> None:
    """Issue 13 #4: a cursor that decodes to no valid position answered a plain-text 500."""
    await create_workflow("wf")
    cursor = encode_cursor({"t": position, "id": "x"})

    response = await api.get("/workflows/wf/executions", params={"cursor": cursor})

    assert response.status_code == 400, response.text
    assert "cursor" in response.json()["error"]


async def test_an_unexpected_error_is_a_500_with_a_json_error_body(
    service: WorkflowService, settings: Settings, ready_checks: dict[str, ReadyCheck],
    executions: InMemoryExecutionRepository, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 13 #4: no request may answer 500 without the `{"error": ...}` body."""

    async def broken(_: str) -> Execution | None:
        raise RuntimeError("a bug (simulated)")

    monkeypatch.setattr(executions, "get", broken)

    @asynccontextmanager
    async def wiring(_: Settings) -> AsyncIterator[Wired]:
        yield Wired(service, ready_checks)

    app = create_app(settings, wiring)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/executions/some-id")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "internal server error"}
