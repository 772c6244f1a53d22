"""The dashboard in headless Chromium on a real stack: trigger, watch, read, operate."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.browser.pages import Dashboard
from tests.target_server import TargetServer

pytestmark = pytest.mark.browser


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(api: httpx.Client, workflow_id: str, actions: list[dict[str, Any]],
           trigger: dict[str, str] | None = None) -> None:
    body = {"workflowId": workflow_id, "trigger": trigger or {"type": "manual"},
            "actions": actions}
    response = api.post("/workflows", json=body)
    assert response.status_code == 201, response.text


def executions(api: httpx.Client, workflow_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/workflows/{workflow_id}/executions")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def server_has(api: httpx.Client, path: str) -> bool:
    """True once the server documents `path` (the Part II endpoints, SPEC 12)."""
    return path in api.get("/openapi.json").json()["paths"]


def tab_to(dashboard: Dashboard, element_id: str, max_tabs: int = 40) -> None:
    """Reach the element with the keyboard alone (Tab), or fail."""
    for _ in range(max_tabs):
        if dashboard.active_id() == element_id:
            return
        ActionChains(dashboard.driver).send_keys(Keys.TAB).perform()
    raise AssertionError(f"#{element_id} not reachable with Tab in {max_tabs} presses")


def test_trigger_runs_live_and_the_execution_shows_its_logs(
    dashboard: Dashboard, api: httpx.Client, target: TargetServer
) -> None:
    workflow_id = unique("ui-report")
    create(api, workflow_id, [
        {"type": "log", "message": "hello from the dashboard"},
        {"type": "http-request", "url": f"{target.url}/ok", "method": "GET"},
        {"type": "log", "message": "report sent"},
    ])
    dashboard.open_workflow(workflow_id)
    dashboard.shows("#summary", "manual")
    nodes = dashboard.until(lambda: dashboard.all("svg.graph g.node") or None, "graph nodes")
    assert [n.get_attribute("data-state") for n in nodes] == ["never-run"] * 3
    assert len(dashboard.all("svg.graph path.edge")) == 2  # a v1 workflow is a chain

    # Input that is not JSON is refused in the page: nothing reaches the server.
    dashboard.type_into("#trigger-input", "{customer: acme")
    dashboard.click("#trigger")
    error = dashboard.shows("#workflow-outcome", "not valid JSON")
    assert error.startswith("Trigger failed: Input is not valid JSON")
    assert dashboard.find("#trigger-input").get_attribute("aria-invalid") == "true"
    assert executions(api, workflow_id) == []

    dashboard.type_into("#trigger-input", " ")
    tab_to(dashboard, "trigger")
    ActionChains(dashboard.driver).send_keys(Keys.ENTER).perform()
    dashboard.shows("#workflow-outcome", "Triggered")
    dashboard.until(lambda: "Triggered" in dashboard.text("#live"), "the live region's news")
    execution_id = dashboard.attribute(
        "#executions tr[data-status='ok']", "data-execution", "the execution turning ok")
    dashboard.until(
        lambda: [n.get_attribute("data-state") for n in dashboard.all("svg.graph g.node")]
        == ["ok"] * 3, "every graph node coloured ok")
    dashboard.shows("#summary", "Last result")

    dashboard.click(f"#executions tr[data-execution='{execution_id}'] a.eid")
    dashboard.shows("h1", execution_id)
    dashboard.shows("#summary", "ok")
    entries = dashboard.until(lambda: dashboard.all("#timeline li.entry") or None, "timeline")
    assert [e.get_attribute("data-status") for e in entries] == ["ok"] * 3
    logs = dashboard.text("#timeline")
    assert "hello from the dashboard" in logs
    assert "report sent" in logs
    assert "action-2" in logs

    dashboard.find(".crumbs a").click()
    dashboard.shows("#workflows", workflow_id)
    cell = f"#workflows tr[data-workflow='{workflow_id}'] .last-result"
    dashboard.shows(cell, "ok")


def test_list_filters_by_status_and_trigger_and_counts_down(
    dashboard: Dashboard, api: httpx.Client
) -> None:
    manual, periodic, archived = unique("ui-manual"), unique("ui-hourly"), unique("ui-old")
    for workflow_id in (manual, archived):
        create(api, workflow_id, [{"type": "log", "message": "hi"}])
    create(api, periodic, [{"type": "log", "message": "tick"}],
           trigger={"type": "periodic", "interval": "1h"})
    assert api.delete(f"/workflows/{archived}").status_code == 204

    dashboard.open()
    for workflow_id in (manual, periodic, archived):
        dashboard.shows("#workflows", workflow_id)
    next_run = f"#workflows tr[data-workflow='{periodic}'] .countdown"
    first = dashboard.shows(next_run, "in ")
    dashboard.until(lambda: dashboard.text(next_run) != first, "the next run counting down")
    dashboard.shows(f"#workflows tr[data-workflow='{archived}']", "archived")

    dashboard.choose("#filter-trigger", "periodic")
    dashboard.until(lambda: manual not in dashboard.text("#workflows"), "manual ones hidden")
    assert periodic in dashboard.text("#workflows")
    dashboard.choose("#filter-trigger", "any")
    dashboard.choose("#filter-status", "archived")
    dashboard.until(lambda: periodic not in dashboard.text("#workflows"), "live ones hidden")
    assert archived in dashboard.text("#workflows")
    assert manual not in dashboard.text("#workflows")
    dashboard.choose("#filter-status", "any")
    dashboard.shows("#workflows", manual)
    dashboard.screenshot("workflows")


def test_pause_refuses_a_trigger_until_resume_then_archive(
    dashboard: Dashboard, api: httpx.Client
) -> None:
    workflow_id = unique("ui-ops")
    create(api, workflow_id, [{"type": "log", "message": "hi"}])
    dashboard.open_workflow(workflow_id)
    dashboard.shows("#summary", "active")
    assert server_has(api, "/workflows/{workflow_id}/pause")

    dashboard.click("#pause")
    dashboard.shows("#workflow-outcome", "Paused.")
    dashboard.shows("#summary", "paused")
    dashboard.until(lambda: not dashboard.find("#pause").is_displayed(), "pause swapped")
    assert api.get(f"/workflows/{workflow_id}").json()["paused_at"] is not None
    dashboard.click("#trigger")
    refused = dashboard.shows("#workflow-outcome", "(409)")
    assert refused == "Trigger failed: workflow is paused (409)"
    assert dashboard.find("#workflow-outcome").get_attribute("role") == "alert"
    assert executions(api, workflow_id) == []

    dashboard.click("#resume")
    dashboard.shows("#workflow-outcome", "Resumed.")
    dashboard.shows("#summary", "active")
    dashboard.click("#trigger")
    dashboard.until(lambda: dashboard.find("#executions tr[data-status='ok']"),
                    "the run after resume turning ok")

    dashboard.click("#archive")
    alert = dashboard.alert()
    assert workflow_id in alert.text
    alert.accept()
    dashboard.shows("#workflow-outcome", "Archived.")
    dashboard.shows("#summary", "archived")
    dashboard.until(lambda: not dashboard.find("#trigger").is_enabled(), "trigger disabled")
    assert api.get(f"/workflows/{workflow_id}").json()["archived_at"] is not None


def test_a_failed_execution_shows_where_it_failed_and_retry_from_it_turns_ok(
    dashboard: Dashboard, api: httpx.Client, target: TargetServer
) -> None:
    workflow_id = unique("ui-broken")
    create(api, workflow_id, [
        {"type": "log", "message": "starting"},
        {"type": "http-request", "url": f"{target.url}/flaky/{workflow_id}?fail=4",
         "method": "GET"},
    ])
    dashboard.open_workflow(workflow_id)
    dashboard.click("#trigger")
    execution_id = dashboard.attribute(
        "#executions tr[data-status='failed']", "data-execution",
        "the execution failing after its retries", timeout_s=40)
    dashboard.until(
        lambda: [n.get_attribute("data-state") for n in dashboard.all("svg.graph g.node")]
        == ["ok", "failed"], "the graph showing the failed action")

    dashboard.open_execution(execution_id)
    dashboard.shows("#summary", "failed")
    failed = dashboard.until(
        lambda: dashboard.all("#timeline li.entry[data-status='failed']") or None, "failures")
    assert "503" in failed[-1].text
    assert not dashboard.find("#cancel").is_enabled()  # only a pending one can be cancelled
    dashboard.choose("#retry-from", "from action-2")
    dashboard.click("#retry")
    dashboard.shows("#execution-outcome", "Retry requested.")
    dashboard.shows("#summary .badge", "ok")
    last_status, last_text = dashboard.until(lambda: (
        (last := dashboard.all("#timeline li.entry")[-1]).get_attribute("data-status"),
        last.text), "the timeline's last entry")
    assert last_status == "ok"
    assert "attempt " in last_text
    assert not dashboard.find("#retry").is_enabled()
