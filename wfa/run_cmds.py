"""The commands that act: trigger (and follow the run), pause, resume, archive, retry,
cancel, signal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from wfa.app import Env, JsonFlag, app, env_of, needs_route, one_line_errors
from wfa.client import Api, Json
from wfa.errors import EXIT_FAILED, EXIT_USAGE, CliError
from wfa.progress import (
    LineView,
    LiveView,
    Poller,
    await_new_execution,
    before_trigger,
    follow,
)
from wfa.render import print_json

WorkflowId = Annotated[str, typer.Argument(help="Workflow id.", show_default=False)]
ExecutionId = Annotated[str, typer.Argument(help="Execution id.", show_default=False)]


def parse_value(raw: str) -> Any:
    """A JSON value when it is one (`10`, `true`, `[1]`), else the text as given."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_inputs(pairs: list[str], input_file: Path | None) -> Json:
    """`--input-file` first, then each `--input key=value` over it."""
    inputs: Json = {}
    if input_file is not None:
        loaded = _read_document(input_file)
        if not isinstance(loaded, dict):
            raise CliError(f"{input_file}: the inputs must be a mapping", EXIT_USAGE)
        inputs.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--input {pair!r}: expected key=value", EXIT_USAGE)
        inputs[key.strip()] = parse_value(value)
    return inputs


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}", EXIT_USAGE) from None
    except (ValueError, yaml.YAMLError) as exc:
        raise CliError(f"{path}: not valid JSON/YAML ({exc})".splitlines()[0], EXIT_USAGE) from None


@app.command("trigger")
@one_line_errors
def trigger_cmd(
    ctx: typer.Context, workflow_id: WorkflowId,
    inputs: Annotated[list[str] | None, typer.Option(
        "--input", "-i", help="An input as key=value (value parsed as JSON when it is JSON).",
    )] = None,
    input_file: Annotated[Path | None, typer.Option(
        "--input-file", help="A JSON or YAML mapping of inputs.",
    )] = None,
    wait: Annotated[bool, typer.Option(
        "--wait", "-w", help="Follow the run live; exit 0 for ok, 1 for failed or cancelled.",
    )] = False,
    timeout_s: Annotated[float, typer.Option(
        "--timeout", help="With --wait: give up after this many seconds (exit 4).",
    )] = 600.0,
    as_json: JsonFlag = False,
) -> None:
    """Run a manual workflow now."""
    env = env_of(ctx)
    given = parse_inputs(inputs or [], input_file)
    with env.api() as api:
        if not wait:
            answer = api.trigger(workflow_id, given)
            _say(env, as_json, answer, f"triggered {workflow_id}")
            return
        final = _trigger_and_follow(api, env, workflow_id, given, timeout_s, as_json)
    if as_json:
        print_json(env.out, final)
    if final.get("status") != "ok":
        raise typer.Exit(EXIT_FAILED)


def _trigger_and_follow(
    api: Api, env: Env, workflow_id: str, given: Json, timeout_s: float, as_json: bool
) -> Json:
    actions = api.workflow(workflow_id).get("actions", [])
    before = before_trigger(api, workflow_id)
    answer = api.trigger(workflow_id, given)
    poller = Poller(timeout_s, env.poll_s)
    started = answer.get("execution_id") or answer.get("executionId")
    execution = (
        api.execution(str(started)) if started
        else await_new_execution(api, workflow_id, before, poller)
    )
    if as_json:
        return follow(api, execution, poller, lambda _: None)
    view = LiveView(env.out, actions) if env.out.is_terminal else LineView(env.out, actions)
    with view:
        return follow(api, execution, poller, view)


def _say(env: Env, as_json: bool, answer: Json, line: str) -> None:
    if as_json:
        print_json(env.out, answer)
    else:
        env.out.print(line, highlight=False, markup=False)


@app.command("pause")
@one_line_errors
def pause_cmd(ctx: typer.Context, workflow_id: WorkflowId, as_json: JsonFlag = False) -> None:
    """Stop scheduling a workflow (its retries wait too) until resume."""
    env = env_of(ctx)
    with env.api() as api:
        answer = needs_route("pause workflows", lambda: api.lifecycle(workflow_id, "pause"))
    _say(env, as_json, answer, f"paused {workflow_id}")


@app.command("resume")
@one_line_errors
def resume_cmd(ctx: typer.Context, workflow_id: WorkflowId, as_json: JsonFlag = False) -> None:
    """Schedule a paused workflow again, from now."""
    env = env_of(ctx)
    with env.api() as api:
        answer = needs_route("resume workflows", lambda: api.lifecycle(workflow_id, "resume"))
    _say(env, as_json, answer, f"resumed {workflow_id}")


@app.command("archive")
@one_line_errors
def archive_cmd(ctx: typer.Context, workflow_id: WorkflowId, as_json: JsonFlag = False) -> None:
    """Archive a workflow: no further runs; its history stays readable."""
    env = env_of(ctx)
    with env.api() as api:
        answer = api.archive(workflow_id)
    _say(env, as_json, answer or {"workflow_id": workflow_id, "archived": True},
         f"archived {workflow_id}")


@app.command("retry")
@one_line_errors
def retry_cmd(
    ctx: typer.Context, execution_id: ExecutionId,
    from_action: Annotated[str | None, typer.Option(
        "--from", help="Re-run this action (by name) and everything downstream of it.",
    )] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a failed or cancelled execution again, with a fresh retry budget."""
    env = env_of(ctx)
    body = {"from": from_action} if from_action else None
    with env.api() as api:
        answer = needs_route(
            "retry executions", lambda: api.execution_verb(execution_id, "retry", body)
        )
    _say(env, as_json, answer, f"retrying {execution_id}")


@app.command("cancel")
@one_line_errors
def cancel_cmd(ctx: typer.Context, execution_id: ExecutionId, as_json: JsonFlag = False) -> None:
    """Cancel an execution (a running one once its actions in flight end)."""
    env = env_of(ctx)
    with env.api() as api:
        answer = needs_route(
            "cancel executions", lambda: api.execution_verb(execution_id, "cancel")
        )
    # 200 `cancelled` at once when it waited; 202 while it runs: it ends after its actions
    # in flight (SPEC 12), and the answer is still `pending` with `cancel_requested`.
    line = (f"cancelled {execution_id}" if answer.get("status") in (None, "cancelled")
            else f"cancel requested for {execution_id}: it ends when its actions in flight end")
    _say(env, as_json, answer, line)


@app.command("signal")
@one_line_errors
def signal_cmd(
    ctx: typer.Context, execution_id: ExecutionId,
    signal: Annotated[str, typer.Argument(help="The signal's name.", show_default=False)],
    data: Annotated[str | None, typer.Option("--data", "-d", help="JSON payload.")] = None,
    data_file: Annotated[Path | None, typer.Option(
        "--data-file", help="A JSON or YAML file with the payload.",
    )] = None,
    as_json: JsonFlag = False,
) -> None:
    """Deliver a signal (with a JSON payload) to an execution waiting for it."""
    env = env_of(ctx)
    payload = _payload(data, data_file)
    with env.api() as api:
        answer = needs_route(
            "deliver signals", lambda: api.signal(execution_id, signal, payload)
        )
    _say(env, as_json, answer, f"sent {signal} to {execution_id}")


def _payload(data: str | None, data_file: Path | None) -> Any:
    if data is not None and data_file is not None:
        raise CliError("give --data or --data-file, not both", EXIT_USAGE)
    if data_file is not None:
        return _read_document(data_file)
    if data is None:
        return {}
    try:
        return json.loads(data)
    except ValueError as exc:
        raise CliError(f"--data is not valid JSON: {exc}", EXIT_USAGE) from None
