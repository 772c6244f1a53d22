"""Argument parsing, configuration, the read commands and the v2 lifecycle calls."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.unit.wfa.fake_api import FakeApi, execution, run
from wfa.errors import CliError
from wfa.render import span
from wfa.run_cmds import parse_inputs, parse_value

HELLO = {"workflowId": "hello", "trigger": {"type": "manual"},
         "actions": [{"type": "log", "message": "hi"}, {"type": "log", "message": "bye"}]}


@pytest.mark.parametrize(("raw", "value"), [
    ("10", 10), ("2.5", 2.5), ("true", True), ("null", None), ('"10"', "10"),
    ("acme", "acme"), ("[1, 2]", [1, 2]), ('{"a": 1}', {"a": 1}), ("", ""), ("a=b", "a=b"),
])
def test_input_values_are_json_when_they_are_json(raw: str, value: object) -> None:
    assert parse_value(raw) == value


def test_inputs_from_a_file_and_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text("customer: acme\nlimit: 5\n")
    assert parse_inputs(["limit=7", "tag=x=y"], source) == {
        "customer": "acme", "limit": 7, "tag": "x=y"}
    with pytest.raises(CliError, match="expected key=value"):
        parse_inputs(["novalue"], None)
    with pytest.raises(CliError, match="expected key=value"):
        parse_inputs(["=1"], None)
    source.write_text("- a list\n")
    with pytest.raises(CliError, match="must be a mapping"):
        parse_inputs([], source)


def test_trigger_sends_the_inputs_and_the_api_key() -> None:
    seen: list[httpx.Request] = []
    api = FakeApi()
    api.add(HELLO)

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return api.handle(request)

    result = run(httpx.MockTransport(record), "trigger", "hello", "--input", "n=3", "-i", "s=x",
                 env={"WFA_API_KEY": "k3y", "WFA_URL": "http://api.test:1234/"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "triggered hello\n"
    [request] = seen
    assert str(request.url) == "http://api.test:1234/workflows/hello/trigger"
    assert request.headers["x-api-key"] == "k3y"
    assert json.loads(request.content) == {"input": {"n": 3, "s": "x"}}


def test_trigger_without_inputs_sends_no_body_and_no_key() -> None:
    api = FakeApi()
    api.add(HELLO)
    assert run(api, "--url", "http://x.test", "trigger", "hello").exit_code == 0
    assert api.calls == [("POST", "/workflows/hello/trigger", None)]


def test_a_bad_input_is_a_usage_error_before_any_request() -> None:
    api = FakeApi()
    result = run(api, "trigger", "hello", "--input", "oops")
    assert result.exit_code == 2
    assert result.stderr == "wfa: error: --input 'oops': expected key=value\n"
    assert api.calls == []


def test_ls_get_executions_and_their_json() -> None:
    api = FakeApi()
    api.add(HELLO)
    api.add({**HELLO, "workflowId": "old"})
    api.workflows["old"]["archived_at"] = "2030-01-01T00:00:00Z"
    api.script = [execution("hello", "ok", ["ok", "ok"])]
    run(api, "trigger", "hello")

    listed = run(api, "ls", "--json")
    assert [w["workflow_id"] for w in json.loads(listed.stdout)] == ["hello"]
    everything = run(api, "ls", "--all", "--json")
    assert [w["workflow_id"] for w in json.loads(everything.stdout)] == ["hello", "old"]
    assert "hello" in run(api, "ls").stdout and "old" not in run(api, "ls").stdout

    got = json.loads(run(api, "get", "hello", "--json").stdout)
    assert got == api.workflows["hello"]
    shown = run(api, "get", "hello").stdout
    assert "hello" in shown and "hi" in shown and "bye" in shown

    [found] = json.loads(run(api, "executions", "hello", "--json").stdout)
    assert found["status"] == "ok"
    table = run(api, "executions", "hello").stdout
    assert found["id"] in table and "2/2" in table


def test_ls_follows_every_page() -> None:
    api = FakeApi()
    for n in range(450):
        api.add({**HELLO, "workflowId": f"w{n:03d}"})
    listed = json.loads(run(api, "ls", "--json").stdout)
    assert len(listed) == 450
    assert sum(1 for c in api.calls if c[1] == "/workflows") == 3


def test_logs_prints_each_result_and_follow_waits_for_the_end() -> None:
    api = FakeApi()
    api.add(HELLO)
    api.script = [execution("hello", "pending", []), execution("hello", "pending", ["ok"]),
                  execution("hello", "ok", ["ok", "ok"])]
    run(api, "trigger", "hello")
    [execution_id] = api.order

    followed = run(api, "logs", execution_id, "--follow")
    assert followed.exit_code == 0
    assert followed.stdout.splitlines() == [
        "#1 log: ok  stdout: step 1", "#2 log: ok  stdout: step 2", f"execution {execution_id} ok"]

    lines = run(api, "logs", execution_id, "--json").stdout.splitlines()
    assert [json.loads(line)["action_id"] for line in lines] == [1, 2]


def test_v2_lifecycle_calls_reach_their_routes(tmp_path: Path) -> None:
    api = FakeApi(v2=True)
    payload = tmp_path / "p.json"
    payload.write_text('{"by": "alice"}')
    for args in (["pause", "w"], ["resume", "w"], ["retry", "e1"], ["retry", "e1", "--from", "b"],
                 ["cancel", "e1"], ["signal", "e1", "approve", "--data", '{"ok": true}'],
                 ["signal", "e1", "approve", "--data-file", str(payload)]):
        result = run(api, *args)
        assert result.exit_code == 0, (args, result.stderr)
    assert api.calls == [
        ("POST", "/workflows/w/pause", None), ("POST", "/workflows/w/resume", None),
        ("POST", "/executions/e1/retry", None), ("POST", "/executions/e1/retry", {"from": "b"}),
        ("POST", "/executions/e1/cancel", None),
        ("POST", "/executions/e1/signals/approve", {"ok": True}),
        ("POST", "/executions/e1/signals/approve", {"by": "alice"}),
    ]


def test_cancel_says_whether_it_ended_at_once_or_ends_after_its_actions() -> None:
    api = FakeApi(v2=True)
    assert run(api, "cancel", "e1").stdout == "cancelled e1\n"
    assert run(api, "cancel", "running-e2").stdout == (
        "cancel requested for running-e2: it ends when its actions in flight end\n")


def test_archive_uses_delete() -> None:
    api = FakeApi()
    api.add(HELLO)
    result = run(api, "archive", "hello")
    assert (result.exit_code, result.stdout) == (0, "archived hello\n")
    assert api.workflows["hello"]["archived_at"]


def test_ids_are_escaped_in_paths() -> None:
    api = FakeApi()
    run(api, "get", "a b?c")
    assert api.calls[-1][1] == "/workflows/a b?c"  # sent as /workflows/a%20b%3Fc


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "0s"), (42, "42s"), (61, "1m 1s"), (3596, "59m 56s"), (3600, "1h"),
    (21_596, "5h 59m"), (90_061, "1d 1h"),
])
def test_time_left_reads_as_two_units(seconds: float, text: str) -> None:
    assert span(seconds) == text
