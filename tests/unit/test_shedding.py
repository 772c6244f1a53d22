"""Load shedding (shared/web/shedding.py): N requests held open, the N+1th is shed with 503.

Deterministic: the admitted requests wait on an event the test sets, so "in flight" is
exactly what the test holds; no timing is asserted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.domain.models import ExecutionRequest
from shared.infra.settings import Settings
from shared.web.ops import ReadyCheck
from shared.web.shedding import SHED, LoadShedder
from tests.fakes.clock import FakeClock
from workflows_svc.app import Wired, create_app
from workflows_svc.service import WorkflowService

pytestmark = pytest.mark.asyncio


class Held:
    """An ASGI app whose requests wait for `release` (ops paths answer at once)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] not in ("/health", "/ready", "/metrics"):
            self.entered += 1
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def client(app: LoadShedder) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def until(predicate: object, what: str) -> None:
    for _ in range(1000):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


async def hold(http: httpx.AsyncClient, inner: Held, n: int, path: str = "/work") -> list[
        asyncio.Task[httpx.Response]]:
    tasks = [asyncio.create_task(http.post(path)) for _ in range(n)]
    await until(lambda: inner.entered == n, f"{n} requests in flight")
    return tasks


@pytest.mark.parametrize("bound", [1, 3])
async def test_the_request_past_the_bound_is_shed_with_503_and_retry_after(bound: int) -> None:
    inner = Held()
    shedder = LoadShedder(inner, max_in_flight=bound, retry_after_s=2)
    shed_before = SHED._value.get()
    async with client(shedder) as http:
        held = await hold(http, inner, bound)
        assert shedder.in_flight == bound

        extra = await http.post("/work")

        assert extra.status_code == 503
        assert extra.headers["retry-after"] == "2"
        assert extra.headers["content-type"] == "application/json"
        assert isinstance(extra.json()["error"], str) and extra.json()["error"]
        assert inner.entered == bound, "the shed request never reached the app"
        assert SHED._value.get() == shed_before + 1

        inner.release.set()
        answers = await asyncio.gather(*held)
        assert [a.status_code for a in answers] == [200] * bound
        assert shedder.in_flight == 0
        assert (await http.post("/work")).status_code == 200, "admitted again once below"


async def test_health_ready_and_metrics_are_never_shed() -> None:
    inner = Held()
    shedder = LoadShedder(inner, max_in_flight=1)
    async with client(shedder) as http:
        held = await hold(http, inner, 1)
        for path in ("/health", "/ready", "/metrics"):
            assert (await http.get(path)).status_code == 200, path
        assert (await http.get("/workflows")).status_code == 503
        inner.release.set()
        await asyncio.gather(*held)


async def test_zero_disables_the_bound() -> None:
    inner = Held()
    shedder = LoadShedder(inner, max_in_flight=0)
    async with client(shedder) as http:
        held = await hold(http, inner, 20)
        assert shedder.in_flight == 0, "not counted when off"
        inner.release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200] * 20


async def test_a_failing_request_frees_its_slot() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    shedder = LoadShedder(broken, max_in_flight=1)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            await shedder({"type": "http", "path": "/x", "method": "GET", "headers": []},
                          _no_body, _drop)
    assert shedder.in_flight == 0


async def _no_body() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _drop(message: object) -> None:
    return None


# --- wired into workflows_svc ------------------------------------------------------------


class GatedPublisher(InMemoryPublisher):
    """Kafka's acknowledgement held back until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def publish(self, request: ExecutionRequest) -> None:
        self.waiting += 1
        await self.gate.wait()
        await super().publish(request)


@pytest.mark.parametrize("settings", [{"api_max_in_flight": 2}], indirect=True)
async def test_workflows_svc_sheds_triggers_past_api_max_in_flight(
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    clock: FakeClock, settings: Settings, ready_checks: dict[str, ReadyCheck],
) -> None:
    gated = GatedPublisher()
    service = WorkflowService(
        workflows=workflows, executions=executions, publisher=gated, clock=clock,
        trigger_rate_limit=settings.trigger_rate_limit,
    )

    @asynccontextmanager
    async def wiring(_: Settings) -> AsyncIterator[Wired]:
        yield Wired(service, ready_checks)

    app = create_app(settings, wiring)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for name in ("a", "b", "c"):
                created = await http.post("/workflows", json={
                    "workflowId": name, "trigger": {"type": "manual"},
                    "actions": [{"type": "log", "message": "hi"}],
                })
                assert created.status_code == 201, created.text
            held = [asyncio.create_task(http.post(f"/workflows/{n}/trigger")) for n in "ab"]
            await until(lambda: gated.waiting == 2, "two triggers waiting for Kafka")

            shed = await http.post("/workflows/c/trigger")
            assert shed.status_code == 503
            assert shed.headers["retry-after"] == "1"
            assert "error" in shed.json()
            assert (await http.get("/health")).status_code == 200
            assert (await http.get("/ready")).status_code == 200

            gated.gate.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
            assert {r.workflow_id for r in gated.published} == {"a", "b"}, "c never claimed"
            assert (await http.get("/workflows/c")).json()["trigger"]["status"] is None
            assert (await http.post("/workflows/c/trigger")).status_code == 200
