"""`wfa apply`: the plan (files diffed against the server) and how it is carried out."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.unit.wfa.fake_api import FakeApi, run, stored_form
from wfa.definitions import Definition, load
from wfa.errors import CliError
from wfa.plan import Step, make_plan, same

HELLO = {"workflowId": "hello", "trigger": {"type": "manual"},
         "actions": [{"type": "log", "message": "hi"}]}
PING = {"workflowId": "ping", "trigger": {"type": "periodic", "interval": "5m"},
        "actions": [{"type": "http-request", "url": "https://example.com/", "method": "get"}]}


def write(folder: Path, name: str, content: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def defs(*bodies: dict[str, object]) -> list[Definition]:
    return [Definition(str(b["workflowId"]), dict(b), Path("f.json")) for b in bodies]


def test_a_stored_workflow_equals_the_body_it_was_created_from() -> None:
    assert same(HELLO, {"workflowId": "hello", **stored_form(HELLO, labels=False)})
    # the method is compared without case: the server stores it upper-case
    assert same(PING, {"workflowId": "ping", **stored_form(PING, labels=False)})


@pytest.mark.parametrize("changed", [
    {**HELLO, "actions": [{"type": "log", "message": "hello"}]},
    {**HELLO, "actions": [*HELLO["actions"], {"type": "log", "message": "more"}]},  # type: ignore[list-item]
    {**HELLO, "trigger": {"type": "periodic", "interval": "1h"}},
    {**HELLO, "description": "new field"},
])
def test_any_changed_field_is_a_difference(changed: dict[str, object]) -> None:
    stored = {"workflowId": "hello", **stored_form(HELLO, labels=False)}
    assert not same(changed, stored)


def test_plan_names_each_step() -> None:
    stored = {
        "hello": stored_form(HELLO, labels=False),
        "ping": stored_form({**PING, "trigger": {"type": "periodic", "interval": "1m"}},
                            labels=False),
        "gone": {**stored_form({**HELLO, "workflowId": "gone"}, labels=False)},
        "old": {**stored_form({**HELLO, "workflowId": "old"}, labels=False),
                "archived_at": "2030-01-01T00:00:00Z"},
        "foreign": stored_form({**HELLO, "workflowId": "foreign"}, labels=False),
    }
    new = {**HELLO, "workflowId": "new"}
    plan = make_plan(defs(HELLO, PING, new), stored, managed={"gone", "old", "hello"},
                     prune=True)
    assert [(i.workflow_id, i.step) for i in plan] == [
        ("hello", Step.UNCHANGED), ("ping", Step.UPDATE), ("new", Step.CREATE),
        ("gone", Step.ARCHIVE),  # managed and live; "old" is archived, "foreign" not managed
    ]
    assert make_plan(defs(HELLO), stored, managed={"gone"})[1:] == []  # no prune, no archive


def test_an_archived_workflow_in_the_files_is_a_conflict() -> None:
    stored = {"hello": {**stored_form(HELLO, labels=False), "archived_at": "2030-01-01"}}
    [item] = make_plan(defs(HELLO), stored)
    assert item.step is Step.CONFLICT and "archived" in item.detail


def test_files_and_folders_load_yaml_json_and_lists(tmp_path: Path) -> None:
    write(tmp_path / "d", "a.yaml", "workflowId: a\ntrigger: {type: manual}\nactions: []\n")
    write(tmp_path / "d", "b.json", [{**HELLO, "workflowId": "b"}, {**HELLO, "workflowId": "c"}])
    write(tmp_path / "d", "notes.txt", "not a definition")
    single = write(tmp_path, "x.yml", "workflowId: x\n")
    found = load([tmp_path / "d", single])
    assert [d.workflow_id for d in found] == ["a", "b", "c", "x"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.yaml", "workflowId: [unclosed", "not valid YAML"),
    ("bad.json", "{", "not valid JSON"),
    ("noid.yaml", "trigger: {type: manual}\n", "workflowId missing"),
    ("scalar.yaml", "- just text\n", "must be a mapping"),
])
def test_bad_files_are_one_line_errors(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(CliError, match=message):
        load([write(tmp_path, name, content)])


def test_the_same_id_in_two_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "one.json", HELLO)
    write(tmp_path, "two.json", HELLO)
    with pytest.raises(CliError, match="also defined in"):
        load([tmp_path])


def test_apply_creates_then_reports_unchanged(tmp_path: Path) -> None:
    api = FakeApi()
    write(tmp_path, "w.json", [HELLO, PING])
    first = run(api, "apply", str(tmp_path))
    assert first.exit_code == 0, first.stderr
    assert [line.split()[:2] for line in first.stdout.splitlines()] == [
        ["created", "hello"], ["created", "ping"]]
    again = run(api, "apply", str(tmp_path), "--json")
    assert again.exit_code == 0
    assert [(o["workflow_id"], o["outcome"]) for o in json.loads(again.stdout)] == [
        ("hello", "unchanged"), ("ping", "unchanged")]
    assert [c[:2] for c in api.calls].count(("POST", "/workflows")) == 2


def test_a_body_with_fields_the_answer_does_not_show_is_unchanged_by_its_sent_digest(
    tmp_path: Path, _isolated_env: Path
) -> None:
    named = {**HELLO, "actions": [{"name": "greet", "type": "log", "message": "hi"}]}
    api = FakeApi(v2=True)
    write(tmp_path, "w.json", named)
    assert run(api, "apply", str(tmp_path)).stdout.split()[:2] == ["created", "hello"]
    assert run(api, "apply", str(tmp_path)).stdout.split()[:2] == ["unchanged", "hello"]
    assert ("PUT", "/workflows/hello", named) not in api.calls
    # the answer has no `name`: without the record apply cannot tell, so it sends the file
    (_isolated_env / "sent.json").unlink()
    assert run(api, "apply", str(tmp_path)).stdout.split() == ["updated", "hello", "version", "2"]
    write(tmp_path, "w.json", {**named, "actions": [{"name": "greet", "type": "log",
                                                     "message": "changed"}]})
    api.workflows["hello"]["version"] = 2
    assert run(api, "apply", str(tmp_path)).stdout.split()[:2] == ["updated", "hello"]


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    api = FakeApi()
    api.add(PING)
    write(tmp_path, "w.json", [HELLO, {**PING, "trigger": {"type": "manual"}}])
    result = run(api, "apply", "--dry-run", str(tmp_path))
    assert result.exit_code == 0
    assert [line.split()[:3] for line in result.stdout.splitlines()] == [
        ["would", "create", "hello"], ["would", "update", "ping"]]
    assert {c[0] for c in api.calls} == {"GET"}


def test_a_changed_definition_is_put_and_an_old_server_gets_one_clear_line(
    tmp_path: Path,
) -> None:
    changed = {**HELLO, "actions": [{"type": "log", "message": "changed"}]}
    write(tmp_path, "w.json", changed)
    old = FakeApi()
    old.add(HELLO)
    result = run(old, "apply", str(tmp_path))
    assert result.exit_code == 1
    assert ("PUT", "/workflows/hello", changed) in old.calls
    [line] = result.stdout.splitlines()
    assert line.startswith("not updated") and "needs a server with workflow versions" in line

    new = FakeApi(v2=True)
    new.add(HELLO)
    result = run(new, "apply", str(tmp_path))
    assert result.exit_code == 0
    assert result.stdout.split() == ["updated", "hello", "version", "2"]


def test_a_rejected_definition_does_not_stop_the_others(tmp_path: Path) -> None:
    cron = {"workflowId": "cron", "trigger": {"type": "manual"},
            "actions": [{"type": "delay", "duration": "1m"}]}
    write(tmp_path, "w.json", [cron, HELLO])
    result = run(FakeApi(), "apply", str(tmp_path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["not", "created", "cron"] and "400" in lines[0]
    assert lines[1].split()[:2] == ["created", "hello"]


def test_prune_archives_only_what_apply_created(tmp_path: Path) -> None:
    api = FakeApi()
    api.add({**HELLO, "workflowId": "made-by-hand"})
    write(tmp_path / "a", "w.json", [HELLO, PING])
    assert run(api, "apply", str(tmp_path / "a")).exit_code == 0
    write(tmp_path / "b", "w.json", [HELLO])

    planned = run(api, "apply", "--prune", "--dry-run", str(tmp_path / "b"))
    assert "would archive  ping" in planned.stdout and api.workflows["ping"]["archived_at"] is None

    pruned = run(api, "apply", "--prune", str(tmp_path / "b"))
    assert pruned.exit_code == 0
    assert [line.split()[:2] for line in pruned.stdout.splitlines()] == [
        ["unchanged", "hello"], ["archived", "ping"]]
    assert api.workflows["ping"]["archived_at"] and not api.workflows["made-by-hand"]["archived_at"]
    assert "archived" not in run(api, "apply", "--prune", str(tmp_path / "b")).stdout


def test_a_server_with_labels_gets_the_managed_by_label(
    tmp_path: Path, _isolated_env: Path
) -> None:
    api = FakeApi(labels=True)
    write(tmp_path / "a", "w.json", [HELLO, PING])
    assert run(api, "apply", str(tmp_path / "a")).exit_code == 0
    assert api.workflows["ping"]["labels"] == {"managed-by": "wfa"}
    (_isolated_env / "applied.json").unlink()  # the label alone marks them now
    write(tmp_path / "b", "w.json", [HELLO])
    pruned = run(api, "apply", "--prune", str(tmp_path / "b"))
    assert "archived   ping" in pruned.stdout


def test_apply_without_definitions_is_a_usage_error(tmp_path: Path) -> None:
    result = run(FakeApi(), "apply", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("wfa: error: no workflow definition found")
    assert run(FakeApi(), "apply", str(tmp_path / "missing")).stderr.count("\n") == 1


def test_apply_against_no_server_aborts_with_one_line(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    write(tmp_path, "w.json", HELLO)
    result = run(httpx.MockTransport(refuse), "apply", str(tmp_path))
    assert result.exit_code == 3
    assert result.stderr == (
        "wfa: error: cannot reach the server at http://127.0.0.1:8081 (WFA_URL): "
        "connection failed (connection refused)\n"
    )
