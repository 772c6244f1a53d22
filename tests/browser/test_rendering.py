"""The page's own modules drawing v2 data (SPEC 9 `depends_on`, SPEC 12 timings) in Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import Dashboard

pytestmark = pytest.mark.browser

# fetch -> notify and fetch -> audit; the newest execution: fetch ok, notify failed, audit not run
DRAW = """
const done = arguments[arguments.length - 1];
import(new URL("ui/static/graph.js", location.href)).then((graph) => {
  const figure = graph.drawGraph([
    {action_id: 1, name: "fetch", type: "http-request"},
    {action_id: 2, name: "notify", type: "http-request", depends_on: ["fetch"]},
    {action_id: 3, name: "audit", type: "log", depends_on: ["fetch"]},
  ], {status: "failed", executed_actions: [
    {action_id: 1, name: "fetch", status: "ok"},
    {action_id: 2, name: "notify", status: "failed"},
  ]});
  document.querySelector("main").append(figure);
  done({
    nodes: [...figure.querySelectorAll("g.node")].map((n) => ({
      name: n.dataset.action, state: n.dataset.state,
      y: Number(n.querySelector("rect").getAttribute("y")),
    })),
    edges: figure.querySelectorAll("path.edge").length,
    label: figure.querySelector("svg").getAttribute("aria-label"),
  });
}).catch((error) => done({error: String(error)}));
"""


def test_depends_on_draws_a_fan_out_coloured_by_state(dashboard: Dashboard) -> None:
    dashboard.open()
    dashboard.shows("h1", "Workflows")
    drawn: dict[str, Any] = dashboard.driver.execute_async_script(DRAW)
    assert "error" not in drawn, drawn
    nodes = {n["name"]: n for n in drawn["nodes"]}
    assert {name: n["state"] for name, n in nodes.items()} == {
        "fetch": "ok", "notify": "failed", "audit": "not-run"}
    assert nodes["notify"]["y"] == nodes["audit"]["y"] > nodes["fetch"]["y"]
    assert drawn["edges"] == 2
    assert drawn["label"] == "Action graph. fetch: ok; notify: failed; audit: not-run"


# The v2 execution record (SPEC 12): timings per action run and an http action's response.
TIMELINE = """
const done = arguments[arguments.length - 1];
import(new URL("ui/static/execution.js", location.href)).then((page) => {
  const list = page.timeline({
    created_at: "2026-01-01T00:00:00Z", finished_at: "2026-01-01T00:00:02Z",
    executed_actions: [
      {action_id: 1, name: "fetch", status: "failed", attempt: 1, logs: "503",
       started_at: "2026-01-01T00:00:00Z", finished_at: "2026-01-01T00:00:00.250Z",
       duration_ms: 250},
      {action_id: 1, name: "fetch", status: "ok", attempt: 2, logs: "200",
       started_at: "2026-01-01T00:00:01Z", finished_at: "2026-01-01T00:00:02Z",
       duration_ms: 1000,
       response: {status: 200, content_type: "application/json", body: {total: 42}}},
    ]}, new Map());
  document.querySelector("main").append(list);
  done([...list.querySelectorAll("li.entry")].map((li) => ({
    text: li.textContent,
    bar: li.querySelector("svg.bar rect")?.getAttribute("x"),
    width: li.querySelector("svg.bar rect")?.getAttribute("width"),
    response: li.querySelector("details.response")?.textContent || null,
  })));
}).catch((error) => done({error: String(error)}));
"""


def test_timeline_shows_attempts_durations_and_responses(dashboard: Dashboard) -> None:
    dashboard.open()
    dashboard.shows("h1", "Workflows")
    entries: Any = dashboard.driver.execute_async_script(TIMELINE)
    assert isinstance(entries, list), entries
    first, second = entries
    assert "attempt 1" in first["text"] and "250 ms" in first["text"]
    assert "attempt 2" in second["text"] and "1.0 s" in second["text"]
    assert (float(first["bar"]), float(first["width"])) == (0, 125)  # 0-250 ms of 2 s
    assert (float(second["bar"]), float(second["width"])) == (500, 500)
    assert first["response"] is None
    assert "Response 200 application/json" in second["response"]
    assert '"total": 42' in second["response"]
