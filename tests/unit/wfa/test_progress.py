"""`wfa trigger --wait`: following the run per action, and the exit status it ends with."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from rich.console import Console

from tests.unit.wfa.fake_api import FakeApi, execution, run
from wfa.progress import LiveView, action_states

HELLO = {"workflowId": "hello", "trigger": {"type": "manual"},
         "actions": [{"type": "log", "message": "hi"}, {"type": "log", "message": "bye"}]}
ACTIONS = [{"action_id": 1, "type": "log"}, {"action_id": 2, "type": "log"}]


def fake(*states: dict[str, object]) -> FakeApi:
    api = FakeApi()
    api.add(HELLO)
    api.script = list(states)
    return api


def test_wait_shows_each_action_and_exits_0_when_ok() -> None:
    api = fake(execution("hello", "pending", []), execution("hello", "pending", ["ok"]),
               execution("hello", "ok", ["ok", "ok"]))
    result = run(api, "trigger", "hello", "--wait")
    assert result.exit_code == 0, result.stderr
    [execution_id] = api.order
    assert result.stdout.splitlines() == [
        "#1 log: ok  stdout: step 1", "#2 log: ok  stdout: step 2",
        f"execution {execution_id} ok"]


@pytest.mark.parametrize("final", ["failed", "cancelled"])
def test_wait_exits_1_when_the_run_does_not_end_ok(final: str) -> None:
    api = fake(execution("hello", "pending", ["failed"]), execution("hello", final, ["failed"]))
    result = run(api, "trigger", "hello", "--wait")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1].endswith(final)


def test_wait_with_json_prints_the_final_execution() -> None:
    api = fake(execution("hello", "pending", []), execution("hello", "ok", ["ok", "ok"]))
    result = run(api, "trigger", "hello", "--wait", "--json")
    assert result.exit_code == 0
    final = json.loads(result.stdout)
    assert (final["id"], final["status"]) == (api.order[0], "ok")


def test_wait_ignores_the_execution_that_was_there_before() -> None:
    api = fake(execution("hello", "failed", ["failed"]))
    run(api, "trigger", "hello")
    api.script = [execution("hello", "ok", ["ok", "ok"])]
    result = run(api, "trigger", "hello", "--wait")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == f"execution {api.order[1]} ok"


def test_wait_uses_the_execution_id_a_newer_server_answers() -> None:
    api = fake()
    api.executions["e-42"] = [execution("hello", "ok", ["ok", "ok"])]
    api.errors[("POST", "/workflows/hello/trigger")] = httpx.Response(
        200, json={"status": "workflow triggered", "execution_id": "e-42"})
    result = run(api, "trigger", "hello", "--wait")
    assert result.exit_code == 0
    assert ("GET", "/executions/e-42", None) in api.calls
    assert not any(c[1].endswith("/executions") for c in api.calls[2:])


def test_wait_gives_up_at_the_timeout_with_exit_4() -> None:
    api = fake(execution("hello", "pending", []))
    result = run(api, "trigger", "hello", "--wait", "--timeout", "0")
    assert result.exit_code == 4
    assert result.stderr.startswith("wfa: error: gave up after 0 s waiting for execution ")


def test_states_per_action() -> None:
    retrying = {"status": "pending", "executed_actions": [
        {"action_id": 1, "status": "ok"}, {"action_id": 2, "status": "failed"}]}
    states = [s for _, s, _ in action_states(retrying, [*ACTIONS, {"action_id": 3}])]
    assert states == ["ok", "failed, will retry", "waiting"]
    running = {"status": "pending", "executed_actions": [{"action_id": 1, "status": "ok"}]}
    assert [s for _, s, _ in action_states(running, [*ACTIONS, {"action_id": 3}])] == [
        "ok", "running", "waiting"]
    failed = {"status": "failed", "executed_actions": [{"action_id": 1, "status": "failed"}]}
    assert [s for _, s, _ in action_states(failed, ACTIONS)] == ["failed", "not run"]
    # a retry that succeeded: the latest result of each action counts
    again = {"status": "ok", "executed_actions": [
        {"action_id": 1, "status": "failed"}, {"action_id": 1, "status": "ok"},
        {"action_id": 2, "status": "ok"}]}
    assert [s for _, s, _ in action_states(again, ACTIONS)] == ["ok", "ok"]


def test_states_follow_depends_on_and_the_waiting_reason() -> None:
    diamond = [{"action_id": 1, "name": "fetch"},
               {"action_id": 2, "name": "notify", "depends_on": ["fetch"]},
               {"action_id": 3, "name": "audit", "depends_on": ["fetch"]},
               {"action_id": 4, "name": "done", "depends_on": ["notify", "audit"]}]
    running = {"status": "pending", "executed_actions": [
        {"action_id": 1, "name": "fetch", "status": "ok"},
        {"action_id": 3, "name": "audit", "status": "ok"}]}
    assert [s for _, s, _ in action_states(running, diamond)] == [
        "ok", "running", "ok", "waiting"]
    approval = [{"action_id": 1, "name": "ask"}, {"action_id": 2, "name": "approval"},
                {"action_id": 3, "name": "deploy"}]
    parked = {"status": "pending", "waiting": {"reason": "signal", "signal": "approve"},
              "executed_actions": [{"action_id": 1, "name": "ask", "status": "ok"}]}
    assert [s for _, s, _ in action_states(parked, approval)] == [
        "ok", 'waiting for signal "approve"', "waiting"]


def test_the_live_view_redraws_a_table_on_a_terminal() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    named = [{"action_id": 1, "name": "fetch"}, {"action_id": 2, "name": "notify"}]
    with LiveView(console, named) as view:
        view({"id": "e1", "status": "pending", "executed_actions": []})
        view({"id": "e1", "status": "ok", "executed_actions": [
            {"action_id": 1, "status": "ok", "logs": "200"},
            {"action_id": 2, "status": "ok", "logs": "sent"}]})
    text = screen.getvalue()
    assert "running" in text and "waiting" in text  # the first frame
    last_frame = text.rsplit("execution e1", 1)[1]
    assert "ok" in last_frame and "fetch" in last_frame and "sent" in last_frame
    assert "\x1b[" in text  # redrawn in place with cursor movements
