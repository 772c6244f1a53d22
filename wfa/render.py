"""Tables for people and JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from wfa.apply import Outcome
from wfa.client import Json
from wfa.progress import label

_OUTCOME_STYLE = {"created": "green", "updated": "green", "archived": "yellow",
                  "unchanged": "dim"}


def print_json(console: Console, value: Any) -> None:
    """Plain JSON on stdout (no colour, no wrapping), one document."""
    if console.is_terminal:
        console.print_json(json.dumps(value))
    else:
        print(json.dumps(value, indent=2), file=console.file, flush=True)


def _when(value: Any) -> str:
    return str(value).replace("T", " ")[:19] if value else "-"


def trigger_text(trigger: Json) -> str:
    kind = str(trigger.get("type"))
    detail = trigger.get("interval") or trigger.get("cron") or trigger.get("at") or ""
    return f"{kind} {detail}".strip()


def next_run_text(workflow: Json) -> str:
    if workflow.get("archived_at") or not workflow.get("trigger", {}).get("next_run"):
        return "-"
    seconds = float(workflow.get("seconds_to_next_run") or 0)
    return "due" if seconds <= 0 else f"in {span(seconds)}"


def span(seconds: float) -> str:
    """`42s`, `59m 56s`, `5h 59m`, `3d 4h`: two units at most."""
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    first = next((i for i, (n, _) in enumerate(units) if n), len(units) - 1)
    return " ".join(f"{n}{unit}" for n, unit in units[first:first + 2] if n or first == 3)


def workflows_table(workflows: Iterable[Json]) -> Table:
    table = Table("trigger", "status", "next run", "run state", "archived")
    table.columns.insert(0, Column("workflow", no_wrap=True))
    for w in workflows:
        table.add_row(
            w["workflow_id"], trigger_text(w.get("trigger", {})), str(w.get("status")),
            next_run_text(w), str(w.get("trigger", {}).get("status") or "-"),
            _when(w.get("archived_at")),
        )
    return table


def action_detail(action: Json) -> str:
    if action.get("type") == "http-request":
        return f"{action.get('method')} {action.get('url')}"
    for key in ("message", "signal", "duration", "until", "topic"):
        if action.get(key):
            return str(action[key])
    return ""


def workflow_view(console: Console, workflow: Json) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_row("workflow", Text(str(workflow["workflow_id"]), style="bold"))
    for name, value in (
        ("description", workflow.get("description")),
        ("status", workflow.get("status")),
        ("trigger", trigger_text(workflow.get("trigger", {}))),
        ("next run", next_run_text(workflow)),
        ("run state", workflow.get("trigger", {}).get("status")),
        ("version", workflow.get("version")),
        ("created", _when(workflow.get("created_at"))),
        ("archived", _when(workflow.get("archived_at")) if workflow.get("archived_at") else None),
    ):
        if value is not None:
            grid.add_row(name, str(value))
    console.print(grid)
    actions = Table("action", "type", "does")
    for action in workflow.get("actions", []):
        actions.add_row(label({**action, "type": None}), str(action.get("type")),
                        action_detail(action))
    console.print(actions)


def took(execution: Json) -> str:
    """How long it ran, from created_at to finished_at ("-" while it runs)."""
    try:
        start = datetime.fromisoformat(str(execution["created_at"]))
        end = datetime.fromisoformat(str(execution["finished_at"]))
    except (KeyError, ValueError):
        return "-"
    seconds = (end - start).total_seconds()
    return f"{seconds:.1f}s" if seconds < 60 else span(seconds)


def executions_table(executions: Iterable[Json]) -> Table:
    table = Table("status", "took", "actions", "retries")
    table.columns.insert(0, Column("execution", no_wrap=True))
    table.columns.insert(2, Column("started", no_wrap=True))
    for e in executions:
        done = {a["action_id"] for a in e.get("executed_actions", []) if a.get("status") == "ok"}
        table.add_row(
            e["id"], str(e.get("status")), _when(e.get("created_at")), took(e),
            f"{len(done)}/{e.get('total_actions')}", str(e.get("retries")),
        )
    return table


def outcomes_view(console: Console, outcomes: list[Outcome]) -> None:
    width = max(len(o.outcome) for o in outcomes)
    for o in outcomes:
        style = _OUTCOME_STYLE.get(o.outcome, "cyan" if o.ok else "red")
        line = Text.assemble((o.outcome.ljust(width), style), "  ", (o.workflow_id, "bold"))
        if o.detail:
            line.append(f"  {o.detail}")
        console.print(line, highlight=False, soft_wrap=True)
