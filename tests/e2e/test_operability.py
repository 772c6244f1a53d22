"""Health, readiness and metrics of the three running services."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.helpers import api_client, log_action, run_once, unique_id
from tests.harness import Stack
from tests.polling import eventually

pytestmark = pytest.mark.e2e
SERVICES = ("workflows_svc", "scheduler_svc", "runner_svc")
EXPECTED_METRICS = {
    "workflows_svc": {"http_requests_total", "workflow_triggers_total"},
    "scheduler_svc": {"scheduler_dispatches_total", "scheduler_tick_duration_seconds"},
    "runner_svc": {"executions_total", "action_duration_seconds", "consumer_errors_total"},
}


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


@pytest.mark.parametrize("service", SERVICES)
async def test_health_and_readiness(stack: Stack, service: str) -> None:
    async with api_client(stack.services[service].url, timeout_s=10) as http:
        health = await http.get("/health")
        assert health.status_code == 200
        assert health.json() == {"ok": True}
        ready = await http.get("/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["mongodb"] is True
        assert body["kafka"] is True
        assert body["ok"] is True


async def test_metrics_expose_the_expected_names(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    workflow_id = unique_id("e2e-metrics")
    await run_once(client, workflow_id, [log_action("counted")])

    texts = {}
    for service in SERVICES:
        response = await client.get(f"{stack.services[service].url}/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        texts[service] = response.text
        typed = {line.split()[2] for line in response.text.splitlines()
                 if line.startswith("# TYPE ")}
        assert EXPECTED_METRICS[service] <= typed, (service, sorted(typed))

    api = _samples(texts["workflows_svc"])
    assert api[("workflow_triggers_total", frozenset({("outcome", "accepted")}))] >= 1
    runner = _samples(texts["runner_svc"])
    assert runner[("executions_total", frozenset({("status", "ok")}))] >= 1
    log_ok = frozenset({("type", "log"), ("status", "ok")})
    assert runner[("action_duration_seconds_count", log_ok)] >= 1

    async def scheduler_ticked() -> bool:
        text = (await client.get(f"{stack.services['scheduler_svc'].url}/metrics")).text
        return _samples(text)[("scheduler_tick_duration_seconds_count", frozenset())] >= 1

    assert await eventually(scheduler_ticked, timeout_s=10, what="a scheduler tick")
