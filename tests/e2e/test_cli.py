"""The `wfa` CLI as a user runs it, a subprocess, against the live stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.cli_helpers import EXAMPLES, Wfa, lines
from tests.e2e.helpers import unique_id
from tests.e2e.stacks import StartStack
from tests.harness import Stack, free_port
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e

# Every file of examples/, applied as the README's walkthrough does (`wfa apply examples/`):
# their ids in file order (a folder's files sorted by name, a file's workflows in order).
EXAMPLE_IDS = ["deploy-approval", "hello", "cache-warmup", "stale-session-sweep",
               "nightly-report", "status-report-hourly", "trial-reminder-acme", "deploy-relay"]
API_KEY = "cli-e2e-key"


@pytest.fixture(scope="module")
def wfa(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Wfa:
    return Wfa(stack.api, tmp_path_factory.mktemp("wfa-state"))


@pytest.fixture(scope="module")
def applied(wfa: Wfa) -> list[list[str]]:
    """The examples folder, applied once for this module: apply's output lines."""
    result = wfa("apply", str(EXAMPLES))
    assert result.returncode == 0, result.stdout + result.stderr
    return lines(result.stdout)


def definition(tmp_path: Path, body: dict[str, object], name: str = "w.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(body))
    return path


def test_apply_creates_the_examples_then_finds_them_unchanged(
    wfa: Wfa, applied: list[list[str]]
) -> None:
    assert [words[:2] for words in applied] == [["created", w] for w in EXAMPLE_IDS]
    again = wfa("apply", "examples/", "--json")  # the README's spelling, from the checkout
    assert again.returncode == 0, again.stderr
    assert [(o["workflow_id"], o["outcome"]) for o in json.loads(again.stdout)] == [
        (w, "unchanged") for w in EXAMPLE_IDS]
    dry = wfa("apply", "--dry-run", str(EXAMPLES / "hello.yaml"))
    assert [words[:2] for words in lines(dry.stdout)] == [["unchanged", "hello"]]

    listed = json.loads(wfa("ls", "--json").stdout)
    assert set(EXAMPLE_IDS) <= {w["workflow_id"] for w in listed}
    table = wfa("ls").stdout
    assert "status-report-hourly" in table and "periodic 1h" in table
    got = json.loads(wfa("get", "cache-warmup", "--json").stdout)
    assert [a["method"] for a in got["actions"][:2]] == ["GET", "GET"]
    assert "https://shop.example.com/catalog" in wfa("get", "cache-warmup").stdout


def test_trigger_wait_follows_hello_to_ok_and_logs_replays_it(
    wfa: Wfa, applied: list[list[str]]
) -> None:
    result = wfa("trigger", "hello", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.splitlines()
    assert out[:2] == ["#1 log: ok  stdout: hello from wfa", "#2 log: ok  stdout: and goodbye"]
    [word, execution_id, status] = out[2].split()
    assert (word, status) == ("execution", "ok")

    [newest] = json.loads(wfa("executions", "hello", "--json", "--limit", "1").stdout)
    assert (newest["id"], newest["status"]) == (execution_id, "ok")
    assert execution_id in wfa("executions", "hello").stdout
    assert wfa("logs", execution_id).stdout.splitlines() == [*out[:2], out[2]]
    assert wfa("logs", execution_id, "--follow").stdout.splitlines()[-1] == out[2]
    entries = [json.loads(x) for x in wfa("logs", execution_id, "--json").stdout.splitlines()]
    assert [(e["action_id"], e["status"]) for e in entries] == [(1, "ok"), (2, "ok")]


def test_the_webhook_relay_runs_against_a_target_and_a_failure_exits_1(
    wfa: Wfa, target: TargetServer, tmp_path: Path
) -> None:
    relay = yaml.safe_load((EXAMPLES / "webhook-relay.yaml").read_text())
    relay["workflowId"] = unique_id("cli-relay")
    relay["actions"][0]["url"] = f"{target.url}/ok"  # the tests reach only this machine
    broken = {**relay, "workflowId": unique_id("cli-broken"),
              "actions": [{**relay["actions"][0], "url": f"{target.url}/status/500"}]}
    applied = wfa("apply", str(definition(tmp_path, relay, "relay.yaml")),
                  str(definition(tmp_path, broken, "broken.yaml")))
    assert applied.returncode == 0, applied.stderr

    ok = wfa("trigger", relay["workflowId"], "--wait")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    first = ok.stdout.splitlines()[0]
    assert first.startswith(f"#1 http-request: ok  {target.url}/ok [STATUS 200]")
    assert target.hits["/ok"] >= 1

    failed = wfa("trigger", broken["workflowId"], "--wait")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    out = failed.stdout.splitlines()
    assert out[-1].endswith(" failed")
    assert sum(line.startswith("#1 http-request: failed") for line in out) == 4  # every attempt


def test_a_changed_definition_is_updated_or_refused_in_one_line(
    wfa: Wfa, stack: Stack, tmp_path: Path
) -> None:
    body = {"workflowId": unique_id("cli-change"), "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "first"}]}
    assert wfa("apply", str(definition(tmp_path, body))).returncode == 0
    body["actions"] = [{"type": "log", "message": "second"}]
    result = wfa("apply", str(definition(tmp_path, body)))

    paths = httpx.get(f"{stack.api}/openapi.json", timeout=10).json()["paths"]
    if "put" in paths["/workflows/{workflow_id}"]:  # issue 10's server
        assert result.returncode == 0
        assert lines(result.stdout)[0][:2] == ["updated", body["workflowId"]]
    else:
        assert result.returncode == 1
        [line] = result.stdout.splitlines()
        assert line.startswith(f"not updated  {body['workflowId']}  the definition changed")
        assert "needs a server with workflow versions" in line
        assert result.stderr == ""


def test_archive_and_the_error_lines(
    wfa: Wfa, target: TargetServer, tmp_path: Path
) -> None:
    slow = {"workflowId": unique_id("cli-busy"), "trigger": {"type": "manual"},
            "actions": [{"type": "http-request", "method": "GET",
                         "url": f"{target.url}/slow?ms=10000"}]}  # busy across two CLI starts
    assert wfa("apply", str(definition(tmp_path, slow))).returncode == 0
    assert wfa("trigger", slow["workflowId"]).stdout == f"triggered {slow['workflowId']}\n"
    busy = wfa("trigger", slow["workflowId"])
    assert busy.returncode == 3
    assert busy.stderr.startswith(
        f"wfa: error: 409 conflict (POST /workflows/{slow['workflowId']}/trigger): ")
    assert "status: busy" in busy.stderr and busy.stderr.count("\n") == 1

    archived = wfa("archive", slow["workflowId"])
    assert (archived.returncode, archived.stdout) == (0, f"archived {slow['workflowId']}\n")
    assert json.loads(wfa("get", slow["workflowId"], "--json").stdout)["archived_at"]
    assert slow["workflowId"] not in wfa("ls").stdout
    assert slow["workflowId"] in wfa("ls", "--all").stdout
    again = wfa("apply", str(definition(tmp_path, slow)))
    assert again.returncode == 1 and again.stdout.startswith("conflict")

    missing = wfa("get", "cli-no-such-workflow")
    assert missing.returncode == 3
    assert missing.stderr.startswith(
        "wfa: error: 404 not found (GET /workflows/cli-no-such-workflow)")
    nowhere = Wfa(f"http://127.0.0.1:{free_port()}", wfa.state_dir)("ls")
    assert nowhere.returncode == 3
    assert nowhere.stderr.startswith("wfa: error: cannot reach the server at http://127.0.0.1:")
    assert "Traceback" not in missing.stderr + nowhere.stderr + busy.stderr


@pytest.fixture(scope="module")
def keyed_stack(start_stack: StartStack) -> Iterator[Stack]:
    """A stack of its own: an API key, one trigger a minute, and only this module's apply."""
    with start_stack(label="cli-key", env={"API_KEY": API_KEY, "TRIGGER_RATE_LIMIT": "1"}) as s:
        yield s


def test_the_api_key_rate_limit_and_prune(keyed_stack: Stack, tmp_path: Path) -> None:
    wfa = Wfa(keyed_stack.api, tmp_path / "state", api_key=API_KEY)
    no_key = wfa("ls", api_key="")
    assert no_key.returncode == 3
    assert no_key.stderr == (
        "wfa: error: 401 unauthorized (GET /workflows): missing or invalid API key; "
        "set WFA_API_KEY to the server's API_KEY\n")
    assert wfa("ls", api_key="wrong").stderr.rstrip().endswith("WFA_API_KEY was rejected")

    keep = {"workflowId": "keep", "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "kept"}]}
    drop = {**keep, "workflowId": "drop"}
    by_hand = {**keep, "workflowId": "by-hand"}
    response = httpx.post(f"{keyed_stack.api}/workflows", json=by_hand,
                          headers={"X-API-Key": API_KEY}, timeout=10)
    assert response.status_code == 201
    definition(tmp_path, keep, "keep.yaml")
    definition(tmp_path, drop, "drop.yaml")
    assert wfa("apply", str(tmp_path)).returncode == 0

    (tmp_path / "drop.yaml").unlink()
    plan = wfa("apply", "--prune", "--dry-run", str(tmp_path))
    assert [w[:3] for w in lines(plan.stdout)] == [
        ["unchanged", "keep", str(tmp_path / "keep.yaml")], ["would", "archive", "drop"]]
    pruned = wfa("apply", "--prune", str(tmp_path))
    assert pruned.returncode == 0, pruned.stderr
    assert [w[:2] for w in lines(pruned.stdout)] == [["unchanged", "keep"], ["archived", "drop"]]
    live = {w["workflow_id"] for w in json.loads(wfa("ls", "--json").stdout)}
    assert live == {"keep", "by-hand"}

    assert wfa("trigger", "keep", "--wait").returncode == 0
    limited = wfa("trigger", "keep")
    assert limited.returncode == 3
    assert limited.stderr.startswith(
        "wfa: error: 429 too many requests (POST /workflows/keep/trigger)")
    assert " retry after " in limited.stderr
