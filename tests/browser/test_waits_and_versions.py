"""The dashboard on SPEC 9-12 workflows: a diamond graph and versions from the real answers,
cancelling a waiting execution, and a signal that lets a waiting execution end ok live."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.pages import Dashboard
from tests.browser.test_dashboard import executions, unique
from tests.target_server import TargetServer

pytestmark = pytest.mark.browser


def define(api: httpx.Client, body: dict[str, Any]) -> None:
    response = api.post("/workflows", json=body)
    assert response.status_code == 201, response.text


def diamond(workflow_id: str, target: TargetServer, message: str) -> dict[str, Any]:
    return {"workflowId": workflow_id, "trigger": {"type": "manual"}, "actions": [
        {"name": "fetch", "type": "http-request", "method": "GET", "url": f"{target.url}/ok"},
        {"name": "notify", "type": "http-request", "method": "POST", "url": f"{target.url}/echo",
         "depends_on": ["fetch"], "body": {"status": "${actions.fetch.response.status}"}},
        {"name": "audit", "type": "log", "depends_on": ["fetch"], "message": message},
        {"name": "done", "type": "log", "depends_on": ["notify", "audit"],
         "message": "report posted"},
    ]}


def node_states(dashboard: Dashboard) -> dict[str, str]:
    return {str(n.get_attribute("data-action")): str(n.get_attribute("data-state"))
            for n in dashboard.all("svg.graph g.node")}


def test_a_diamond_graph_and_its_versions_from_the_api(
    dashboard: Dashboard, api: httpx.Client, target: TargetServer
) -> None:
    workflow_id = unique("ui-diamond")
    define(api, diamond(workflow_id, target, "first version"))
    changed = diamond(workflow_id, target, "fetched ${actions.fetch.response.status}")
    assert api.put(f"/workflows/{workflow_id}", json=changed).json()["version"] == 2

    dashboard.open_workflow(workflow_id)
    dashboard.until(lambda: len(node_states(dashboard)) == 4 or None, "four graph nodes")
    assert len(dashboard.all("svg.graph path.edge")) == 4  # fetch->notify, audit; both->done
    ys = {str(n.get_attribute("data-action")): float(n.find_element(
        "css selector", "rect").get_attribute("y") or 0) for n in dashboard.all("svg.graph g.node")}
    assert ys["fetch"] < ys["notify"] == ys["audit"] < ys["done"]
    versions = dashboard.shows("#versions", "Version 1")
    assert versions.splitlines()[0].startswith("Version 2 (current)")
    dashboard.find("#versions li[data-version='1'] summary").click()
    dashboard.shows("#versions li[data-version='1'] pre", "first version")

    dashboard.click("#trigger")
    dashboard.until(lambda: dashboard.find("#executions tr[data-status='ok']"), "the run ok")
    dashboard.until(lambda: set(node_states(dashboard).values()) == {"ok"} or None,
                    "every node ok")
    dashboard.shows("#summary .badge", "active")  # released after the run
    dashboard.screenshot("workflow")

    dashboard.find("#executions tr[data-status='ok'] a.eid").click()
    dashboard.shows("#summary", "Workflow version")
    assert "2" in dashboard.text("#summary")
    entries = dashboard.until(lambda: dashboard.all("#timeline li.entry") or None, "timeline")
    assert {e.get_attribute("data-action") for e in entries} == {
        "fetch", "notify", "audit", "done"}
    assert "fetched 200" in dashboard.text("#timeline")
    fetch = dashboard.find("#timeline li.entry[data-action='fetch']")
    assert "attempt 1" in fetch.text
    fetch.find_element("css selector", "details.response summary").click()
    assert "Response 200" in fetch.text and "hello from the target server" in fetch.text
    dashboard.screenshot("execution")


def test_cancel_ends_an_execution_waiting_in_a_delay(
    dashboard: Dashboard, api: httpx.Client
) -> None:
    workflow_id = unique("ui-nap")
    define(api, {"workflowId": workflow_id, "trigger": {"type": "manual"}, "actions": [
        {"name": "nap", "type": "delay", "duration": "10m"},
        {"name": "after", "type": "log", "message": "woke"}]})
    dashboard.open_workflow(workflow_id)
    dashboard.click("#trigger")
    execution_id = dashboard.attribute(
        "#executions tr[data-status='pending']", "data-execution", "the execution waiting")
    dashboard.open_execution(execution_id)
    waiting = dashboard.shows("#waiting", "delay")
    assert "until" in waiting and "in " in waiting  # counting down to the end of the delay
    dashboard.click("#cancel")
    dashboard.alert().accept()
    dashboard.shows("#execution-outcome", "Cancel requested.")
    dashboard.shows("#summary .badge", "cancelled")
    assert not dashboard.find("#cancel").is_enabled()
    [execution] = executions(api, workflow_id)
    assert execution["status"] == "cancelled"


def test_a_signal_lets_the_waiting_execution_end_ok_live(
    dashboard: Dashboard, api: httpx.Client
) -> None:
    workflow_id = unique("ui-approve")
    define(api, {"workflowId": workflow_id, "trigger": {"type": "manual"},
                 "inputs": {"version": {"type": "string", "required": True}}, "actions": [
        {"name": "approval", "type": "wait-for-signal", "signal": "approve", "timeout": "1h"},
        {"name": "announce", "type": "log",
         "message": "${input.version} approved by ${actions.approval.signal.by}"}]})
    dashboard.open_workflow(workflow_id)
    dashboard.type_into("#trigger-input", '{"version": "1.4.2"}')
    dashboard.click("#trigger")
    execution_id = dashboard.attribute(
        "#executions tr[data-status='pending']", "data-execution", "the execution waiting")
    dashboard.until(lambda: node_states(dashboard) == {
        "approval": "waiting", "announce": "pending"} or None, "the graph: approval waits")
    dashboard.open_execution(execution_id)
    dashboard.shows("#waiting", 'signal for signal "approve"')
    dashboard.shows("#summary", "1.4.2")  # the trigger's input
    assert dashboard.find("#signal-name").get_attribute("value") == "approve"

    dashboard.type_into("#signal-payload", "{by: alice")
    dashboard.click("#send-signal")
    dashboard.shows("#execution-outcome", "Signal payload is not valid JSON")
    dashboard.type_into("#signal-payload", '{"by": "alice"}')
    dashboard.click("#send-signal")
    dashboard.shows("#execution-outcome", "Signal sent.")
    dashboard.shows("#summary .badge", "ok")
    dashboard.shows("#timeline", "1.4.2 approved by alice")
