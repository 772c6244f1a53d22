"""/metrics label values come from the code, never from the client (issue 13, #9)."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client import REGISTRY

KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}


def http_series() -> set[tuple[str, str, str]]:
    return {
        (s.labels["method"], s.labels["route"], s.labels["status"])
        for metric in REGISTRY.collect() if metric.name == "http_requests"
        for s in metric.samples if s.name == "http_requests_total"
    }


def templates(api: httpx.AsyncClient) -> set[str]:
    """The app's route templates: its OpenAPI paths and FastAPI's documentation routes."""
    app = api._transport.app  # type: ignore[attr-defined]
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    return set(app.openapi()["paths"]) | {url for url in docs if url}


async def test_invented_methods_and_paths_add_no_label_values(api: httpx.AsyncClient) -> None:
    await api.get("/health")
    before = http_series()
    for _ in range(150):
        token = f"X{uuid.uuid4().hex[:8].upper()}"
        await api.request(token, f"/workflows/{token}")
        await api.request(token.lower(), f"/no/such/{token}")
        await api.get(f"/workflows/{token}/executions?{token}=1")

    series = http_series()
    assert {m for m, _, _ in series} <= KNOWN_METHODS | {"other"}
    assert {r for _, r, _ in series} <= templates(api) | {"unmatched"}
    assert len(series - before) <= 10, sorted(series - before)
    assert ("other", "/workflows/{workflow_id}", "405") in series
    assert ("GET", "/health", "200") in series

