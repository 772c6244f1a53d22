"""The `wfa` commands of the v2 server (SPEC 10-12) as a user runs them, against live stacks:
the examples folder applied and one example per kind run (their hosts pointed at the local
target server: the tests reach only this machine), PUT updates, pause/resume, retry
`--from`, cancel and a signal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.cli_helpers import EXAMPLES, Wfa, lines
from tests.e2e.helpers import unique_id
from tests.e2e.stacks import StartStack
from tests.harness import Stack
from tests.polling import eventually_sync
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e
SECRET = "s3cr3t-token"
EXAMPLE_IDS = ["deploy-approval", "hello", "cache-warmup", "stale-session-sweep",
               "nightly-report", "status-report-hourly", "trial-reminder-acme", "deploy-relay"]


@pytest.fixture(scope="module")
def wfa(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Wfa:
    return Wfa(stack.api, tmp_path_factory.mktemp("wfa-v2-state"))


@pytest.fixture(scope="module")
def examples_stack(start_stack: StartStack) -> Iterator[Stack]:
    """A fresh stack of its own (as the README's walkthrough starts), with the secret the
    nightly report's fetch sends."""
    with start_stack(label="cli-examples", env={"WFA_SECRET_API_TOKEN": SECRET}) as s:
        yield s


def write(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / f"{body['workflowId']}.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def example(name: str, workflow_id: str) -> dict[str, Any]:
    """An example file's definition under another id (so each test has its own workflow)."""
    body: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    body["workflowId"] = workflow_id
    return body


def newest_execution(wfa: Wfa, workflow_id: str, status: str | None = None) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = json.loads(wfa("executions", workflow_id, "--json", "--limit", "1").stdout)
        return found[0] if found and status in (None, found[0]["status"]) else None

    what = f"an execution of {workflow_id}" + (f" {status}" if status else "")
    return eventually_sync(probe, timeout_s=30, what=what)


def waiting_for(stack: Stack, execution_id: str, reason: str) -> None:
    def probe() -> bool:
        body = httpx.get(f"{stack.api}/executions/{execution_id}", timeout=10).json()
        return (body.get("waiting") or {}).get("reason") == reason

    eventually_sync(probe, timeout_s=20, what=f"{execution_id} waiting for {reason}")


def test_the_examples_folder_applies_and_shows_its_triggers(
    examples_stack: Stack, tmp_path: Path
) -> None:
    wfa = Wfa(examples_stack.api, tmp_path / "state")
    result = wfa("apply", "examples/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [w[:2] for w in lines(result.stdout)] == [["created", w] for w in EXAMPLE_IDS]
    cron = json.loads(wfa("get", "nightly-report", "--json").stdout)
    assert cron["trigger"]["type"] == "cron" and cron["seconds_to_next_run"] > 0
    assert [(a["name"], a.get("depends_on")) for a in cron["actions"]] == [
        ("fetch", None), ("notify", ["fetch"]), ("audit", ["fetch"]),
        ("done", ["notify", "audit"])]
    timer = json.loads(wfa("get", "trial-reminder-acme", "--json").stdout)
    assert timer["trigger"]["type"] == "once" and timer["seconds_to_next_run"] > 71 * 3600
    again = wfa("apply", "examples/")
    assert [w[:2] for w in lines(again.stdout)] == [["unchanged", w] for w in EXAMPLE_IDS]

    walkthrough = wfa("trigger", "hello", "--wait")  # the README's next step
    assert walkthrough.returncode == 0, walkthrough.stdout + walkthrough.stderr
    assert walkthrough.stdout.splitlines()[-1].endswith(" ok")


def test_the_nightly_report_runs_its_diamond_with_input_and_secret(
    examples_stack: Stack, target: TargetServer, tmp_path: Path
) -> None:
    wfa = Wfa(examples_stack.api, tmp_path / "state")
    body = example("nightly-report.yaml", unique_id("cli-report"))
    body["trigger"] = {"type": "manual"}  # run it now rather than at 09:00
    del body["overlap"]  # a manual workflow runs one execution at a time anyway
    orders = target.can(unique_id("orders"), b'{"total": 7}',
                        {"content-type": "application/json"})
    body["actions"][0]["url"] = orders
    body["actions"][1]["url"] = f"{target.url}/echo"
    assert wfa("apply", str(write(tmp_path, body))).returncode == 0

    ran = wfa("trigger", body["workflowId"], "--input", "customer=acme", "--wait")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    out = ran.stdout.splitlines()
    names = [line.split(":")[0] for line in out[:-1]]  # one line per action, as each ends
    assert (names[0], sorted(names[1:3]), names[3:]) == ("fetch", ["audit", "notify"], ["done"])
    assert "done: ok  stdout: report for acme posted" in out
    [fetched] = [h for path, h in target.requests if path == orders.removeprefix(target.url)]
    assert fetched["authorization"] == f"Bearer {SECRET}"
    [posted] = target.received_at("/echo")[-1:]
    assert json.loads(posted.body) == {"customer": "acme", "orders": 7}


def test_the_trial_reminder_timer_runs_once(
    examples_stack: Stack, target: TargetServer, tmp_path: Path
) -> None:
    wfa = Wfa(examples_stack.api, tmp_path / "state")
    body = example("trial-reminder.yaml", unique_id("cli-timer"))
    body["trigger"]["after"] = "2s"
    body["actions"][0]["url"] = f"{target.url}/echo"
    assert wfa("apply", str(write(tmp_path, body))).returncode == 0
    done = newest_execution(wfa, body["workflowId"], "ok")
    logs = wfa("logs", str(done["id"])).stdout
    assert "trial reminder sent to ops@acme.example.com" in logs
    after = json.loads(wfa("get", body["workflowId"], "--json").stdout)
    assert after["trigger"]["next_run"] is None


def test_the_hourly_report_runs_on_its_interval(
    examples_stack: Stack, target: TargetServer, tmp_path: Path
) -> None:
    wfa = Wfa(examples_stack.api, tmp_path / "state")
    body = example("periodic-report.yaml", unique_id("cli-periodic"))
    body["trigger"]["interval"] = "2s"
    body["actions"][0]["url"] = f"{target.url}/ok"
    assert wfa("apply", str(write(tmp_path, body))).returncode == 0
    done = newest_execution(wfa, body["workflowId"], "ok")
    assert "hourly status report fetched" in wfa("logs", str(done["id"])).stdout
    assert wfa("archive", body["workflowId"]).returncode == 0


def test_a_changed_definition_is_updated_with_a_new_version(wfa: Wfa, tmp_path: Path) -> None:
    body = {"workflowId": unique_id("cli-v"), "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "one"}]}
    assert wfa("apply", str(write(tmp_path, body))).returncode == 0
    body["actions"] = [{"type": "log", "message": "two"}]
    result = wfa("apply", str(write(tmp_path, body)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result.stdout) == [["updated", str(body["workflowId"]), "version", "2"]]


def test_the_approval_waits_for_its_signal(
    wfa: Wfa, stack: Stack, target: TargetServer, tmp_path: Path
) -> None:
    body = example("deploy-approval.yaml", unique_id("cli-approval"))
    body["actions"][2]["url"] = f"{target.url}/ok"
    assert wfa("apply", str(write(tmp_path, body))).returncode == 0
    assert wfa("trigger", body["workflowId"], "--input", "version=1.4.2").returncode == 0
    execution_id = str(newest_execution(wfa, body["workflowId"])["id"])
    waiting_for(stack, execution_id, "signal")

    wrong = wfa("signal", execution_id, "not-awaited", "--data", "{}")
    assert wrong.returncode == 3 and "409 conflict" in wrong.stderr
    nobody = wfa("signal", "no-such-execution", "approve", "--data", "{}")
    assert nobody.returncode == 3 and "404 not found" in nobody.stderr
    assert "cannot deliver signals yet" not in nobody.stderr  # the route exists
    sent = wfa("signal", execution_id, "approve", "--data", '{"by": "alice"}')
    assert sent.returncode == 0, sent.stderr
    followed = wfa("logs", execution_id, "--follow")
    assert followed.stdout.splitlines()[-1] == f"execution {execution_id} ok"
    assert "1.4.2 deployed, approved by alice" in followed.stdout


def test_pause_refuses_triggers_until_resume(wfa: Wfa, tmp_path: Path) -> None:
    body = {"workflowId": unique_id("cli-pause"), "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "ran"}]}
    assert wfa("apply", str(write(tmp_path, body))).returncode == 0
    assert wfa("pause", body["workflowId"]).stdout == f"paused {body['workflowId']}\n"
    refused = wfa("trigger", body["workflowId"])
    assert refused.returncode == 3 and "status: paused" in refused.stderr
    assert wfa("resume", body["workflowId"]).returncode == 0
    assert wfa("trigger", body["workflowId"], "--wait").returncode == 0


def test_retry_from_an_action_runs_a_failed_execution_again(
    wfa: Wfa, target: TargetServer, tmp_path: Path
) -> None:
    key = unique_id("flaky")
    body = {"workflowId": unique_id("cli-retry"), "trigger": {"type": "manual"},
            "retry": {"max_attempts": 1, "initial_interval_s": 1},
            "actions": [{"name": "fetch", "type": "http-request", "method": "GET",
                         "url": f"{target.url}/flaky/{key}?fail=1"},
                        {"name": "done", "type": "log", "message": "fetched"}]}
    assert wfa("apply", str(write(tmp_path, body))).returncode == 0
    assert wfa("trigger", body["workflowId"], "--wait").returncode == 1
    execution_id = str(newest_execution(wfa, body["workflowId"])["id"])
    retried = wfa("retry", execution_id, "--from", "fetch")
    assert retried.returncode == 0, retried.stderr
    followed = wfa("logs", execution_id, "--follow")
    assert followed.stdout.splitlines()[-1] == f"execution {execution_id} ok"
    again = wfa("retry", execution_id)
    assert again.returncode == 3 and "409 conflict" in again.stderr


def test_cancel_ends_a_waiting_execution_at_once(
    wfa: Wfa, stack: Stack, tmp_path: Path
) -> None:
    body = {"workflowId": unique_id("cli-cancel"), "trigger": {"type": "manual"},
            "actions": [{"name": "nap", "type": "delay", "duration": "10m"}]}
    assert wfa("apply", str(write(tmp_path, body))).returncode == 0
    assert wfa("trigger", body["workflowId"]).returncode == 0
    execution_id = str(newest_execution(wfa, body["workflowId"])["id"])
    waiting_for(stack, execution_id, "delay")
    assert wfa("cancel", execution_id).stdout == f"cancelled {execution_id}\n"
    followed = wfa("logs", execution_id, "--follow")
    assert followed.stdout.splitlines()[-1].startswith(f"execution {execution_id} cancelled")
