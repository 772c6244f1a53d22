"""The commands that read, and `apply`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from wfa import apply as applying
from wfa.app import JsonFlag, app, env_of, one_line_errors
from wfa.client import Api, Json
from wfa.errors import EXIT_FAILED
from wfa.marks import Ledger, state_dir
from wfa.progress import LineView, Poller, follow
from wfa.render import (
    executions_table,
    outcomes_view,
    print_json,
    workflow_view,
    workflows_table,
)

Paths = Annotated[list[Path], typer.Argument(
    help="Definition files (.yaml, .yml, .json) or folders of them.", show_default=False,
)]


@app.command("apply")
@one_line_errors
def apply_cmd(
    ctx: typer.Context, paths: Paths,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Archive workflows that apply created and no file defines any more.",
    )] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan; change nothing.",
    )] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create or update the workflows the files define; say what happened to each."""
    env = env_of(ctx)
    with env.api() as api:
        ledger = Ledger(state_dir(), api.base_url)
        items, labels = applying.plan_for(api, ledger, paths, prune=prune)
        outcomes = applying.run(api, ledger, items, labels=labels, dry_run=dry_run)
    if as_json:
        print_json(env.out, [o.as_json() for o in outcomes])
    else:
        outcomes_view(env.out, outcomes)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(EXIT_FAILED)


@app.command("ls")
@one_line_errors
def ls_cmd(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Archived ones too.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List the workflows."""
    env = env_of(ctx)
    with env.api() as api:
        found = [w for w in api.workflows() if show_all or not w.get("archived_at")]
    if as_json:
        print_json(env.out, found)
    else:
        env.out.print(workflows_table(found))


@app.command("get")
@one_line_errors
def get_cmd(
    ctx: typer.Context, workflow_id: Annotated[str, typer.Argument(help="Workflow id.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one workflow: its definition and live state."""
    env = env_of(ctx)
    with env.api() as api:
        workflow = api.workflow(workflow_id)
    if as_json:
        print_json(env.out, workflow)
    else:
        workflow_view(env.out, workflow)


@app.command("executions")
@one_line_errors
def executions_cmd(
    ctx: typer.Context, workflow_id: Annotated[str, typer.Argument(help="Workflow id.")],
    status: Annotated[str | None, typer.Option(
        "--status", help="Only those with this status (ok, pending, failed, cancelled).",
    )] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """A workflow's executions, newest first."""
    env = env_of(ctx)
    with env.api() as api:
        found = list(api.executions(workflow_id, status=status, limit=limit))
    if as_json:
        print_json(env.out, found)
    else:
        env.out.print(executions_table(found))


@app.command("logs")
@one_line_errors
def logs_cmd(
    ctx: typer.Context, execution_id: Annotated[str, typer.Argument(help="Execution id.")],
    follow_on: Annotated[bool, typer.Option(
        "--follow", "-f", help="Keep printing until the execution ends.",
    )] = False,
    timeout_s: Annotated[float, typer.Option(
        "--timeout", help="With --follow: give up after this many seconds.",
    )] = 3600.0,
    as_json: JsonFlag = False,
) -> None:
    """An execution's action results (with --json: one JSON object a line)."""
    env = env_of(ctx)
    with env.api() as api:
        execution = api.execution(execution_id)
        view = _JsonLines() if as_json else LineView(env.out, _actions_of(api, execution))
        if follow_on:
            follow(api, execution, Poller(timeout_s, env.poll_s), view)
        else:
            view(execution)
            if not as_json and execution.get("status") == "pending":
                env.out.print(f"execution {execution_id} is still pending (--follow waits)")


def _actions_of(api: Api, execution: Json) -> list[Json]:
    """The workflow's actions, to name them (an execution records only their ids)."""
    found = api.find_workflow(str(execution.get("workflow_id")))
    return list(found.get("actions", [])) if found else []


class _JsonLines:
    """Each new action result as one JSON line."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, execution: dict[str, object]) -> None:
        entries = execution.get("executed_actions")
        entries = entries if isinstance(entries, list) else []
        for entry in entries[self.seen:]:
            typer.echo(json.dumps({"execution_id": execution.get("id"), **entry}))
        self.seen = len(entries)
