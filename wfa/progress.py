"""Following an execution to its end, shown live per action (rich) or as lines (pipes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from wfa.client import Api, Json
from wfa.errors import EXIT_TIMEOUT, CliError

FINAL = frozenset({"ok", "failed", "cancelled"})
_STYLE = {"ok": "green", "failed": "red", "cancelled": "yellow", "pending": "cyan"}


@dataclass
class Poller:
    """Polls until a deadline; the clock and the sleep are the real ones unless given."""

    timeout_s: float
    interval_s: float = 0.5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def wait(self, what: str) -> None:
        """Sleep one interval, or give up when the deadline has passed."""
        if self.clock() - self.started >= self.timeout_s:
            raise CliError(f"gave up after {self.timeout_s:g} s waiting for {what}", EXIT_TIMEOUT)
        self.sleep(self.interval_s)


def newest_execution_id(api: Api, workflow_id: str) -> str | None:
    return next((e["id"] for e in api.executions(workflow_id, limit=1)), None)


def await_new_execution(api: Api, workflow_id: str, before: str | None, poller: Poller) -> Json:
    """The execution a trigger started: the newest one that was not there before it."""
    while True:
        newest = next(iter(api.executions(workflow_id, limit=1)), None)
        if newest is not None and newest["id"] != before:
            return newest
        poller.wait(f"the execution of {workflow_id} to start")


def follow(api: Api, execution: Json, poller: Poller, show: Callable[[Json], None]) -> Json:
    """Show each state of the execution until it is final; the final state is returned."""
    while True:
        show(execution)
        if execution.get("status") in FINAL:
            return execution
        poller.wait(f"execution {execution['id']} to end")
        execution = api.execution(execution["id"])


def label(entry: Json) -> str:
    """`fetch` for a named action, else `#2 http-request`."""
    if entry.get("name"):
        return str(entry["name"])
    kind = f" {entry['type']}" if entry.get("type") else ""
    return f"#{entry.get('action_id')}{kind}"


def action_states(execution: Json, actions: list[Json]) -> list[tuple[Json, str, str]]:
    """Per declared action: (action, state, last log line)."""
    latest = {e["action_id"]: e for e in execution.get("executed_actions", [])}
    running = execution.get("status") == "pending"
    blocked = any(e.get("status") == "failed" for e in latest.values())
    rows: list[tuple[Json, str, str]] = []
    for action in actions:
        entry = latest.get(action["action_id"])
        if entry is not None:
            state = str(entry.get("status"))
            if state == "failed" and running:
                state = "failed, will retry"
            rows.append((action, state, str(entry.get("logs", ""))))
        elif not running:
            rows.append((action, "not run", ""))
        else:
            rows.append((action, "waiting" if blocked else "running", ""))
            blocked = True
    return rows


def headline(execution: Json) -> Text:
    status = str(execution.get("status"))
    text = Text.assemble(
        "execution ", (str(execution.get("id")), "bold"), " ", (status, _STYLE.get(status, "")),
    )
    waiting = execution.get("waiting")
    if isinstance(waiting, dict) and waiting.get("reason"):
        text.append(f"  waiting for {waiting['reason']}")
    if execution.get("reason"):
        text.append(f"  ({execution['reason']})")
    return text


def render(execution: Json, actions: list[Json]) -> Group:
    table = Table(box=None, pad_edge=False)
    for column in ("action", "state", "log"):
        table.add_column(column, overflow="fold")
    for action, state, log in action_states(execution, actions):
        style = _STYLE.get(state.split(",")[0], "cyan" if state == "running" else "dim")
        table.add_row(label(action), Text(state, style=style), log)
    return Group(headline(execution), table)


class LiveView:
    """A table of the actions, redrawn in place on a terminal."""

    def __init__(self, console: Console, actions: list[Json]) -> None:
        self.actions = actions
        self._live = Live(console=console, auto_refresh=False, transient=False)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.__exit__(kind, exc, tb)

    def __call__(self, execution: Json) -> None:
        self._live.update(render(execution, self.actions), refresh=True)


class LineView:
    """One line per action result as it arrives, then the final state: for pipes and logs."""

    def __init__(self, console: Console, actions: list[Json] | None = None) -> None:
        self.console = console
        self.seen = 0
        self.names = {a["action_id"]: a for a in actions or []}

    def __enter__(self) -> LineView:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def __call__(self, execution: Json) -> None:
        entries = execution.get("executed_actions", [])
        for entry in entries[self.seen:]:
            action = {**self.names.get(entry.get("action_id"), {}), **entry}
            self.console.print(
                f"{label(action)}: {entry.get('status')}  {entry.get('logs', '')}",
                markup=False, highlight=False, soft_wrap=True,
            )
        self.seen = len(entries)
        if execution.get("status") in FINAL:
            self.console.print(headline(execution), highlight=False)
