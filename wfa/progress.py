"""Following an execution to its end, shown live per action (rich) or as lines (pipes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass(frozen=True)
class Before:
    """The newest executions of a workflow just before a trigger: what is not new."""

    ids: frozenset[str]
    newest_at: str | None  # created_at of the newest of them (ISO 8601, the server's clock)


def before_trigger(api: Api, workflow_id: str, look_back: int = 5) -> Before:
    found = list(api.executions(workflow_id, limit=look_back))
    return Before(frozenset(str(e["id"]) for e in found),
                  str(found[0]["created_at"]) if found else None)


def _is_new(execution: Json, before: Before) -> bool:
    if str(execution.get("id")) in before.ids:
        return False
    if before.newest_at is None or not execution.get("created_at"):
        return True
    try:
        return datetime.fromisoformat(str(execution["created_at"])) >= datetime.fromisoformat(
            before.newest_at)
    except ValueError:
        return True


def await_new_execution(api: Api, workflow_id: str, before: Before, poller: Poller) -> Json:
    """The execution a trigger started: one created after every execution there before it.

    The trigger's answer names no execution, so the newest executions are polled; a manual
    workflow runs one execution at a time (a second trigger is 409 busy), so the new one is
    the trigger's.
    """
    while True:
        found = api.executions(workflow_id, limit=len(before.ids) + 1)
        newest = next((e for e in found if _is_new(e, before)), None)
        if newest is not None:
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
    """`fetch` for a named action, else `#2 http-request` (also for the default name)."""
    if entry.get("name") and entry["name"] != f"action-{entry.get('action_id')}":
        return str(entry["name"])
    kind = f" {entry['type']}" if entry.get("type") else ""
    return f"#{entry.get('action_id')}{kind}"


def _name(action: Json) -> str:
    return str(action.get("name") or f"action-{action.get('action_id')}")


def _needs(actions: list[Json]) -> dict[str, list[str]]:
    """Each action's dependencies: `depends_on` when given, else the action before it."""
    needs: dict[str, list[str]] = {}
    for index, action in enumerate(actions):
        given = action.get("depends_on")
        before = [_name(actions[index - 1])] if index else []
        needs[_name(action)] = list(given) if isinstance(given, list) else before
    return needs


def action_states(execution: Json, actions: list[Json]) -> list[tuple[Json, str, str]]:
    """Per declared action: (action, state, last log line). While the execution runs, an
    action not run yet is `running` when all it depends on succeeded (or `waiting for` what
    the execution waits for), else `waiting`."""
    latest = {e["action_id"]: e for e in execution.get("executed_actions", [])}
    running = execution.get("status") == "pending"
    reason = waiting_text(execution.get("waiting"))
    done = {_name(a) for a in actions if latest.get(a["action_id"], {}).get("status") == "ok"}
    needs = _needs(actions)
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
        elif set(needs[_name(action)]) <= done:
            rows.append((action, f"waiting for {reason}" if reason else "running", ""))
        else:
            rows.append((action, "waiting", ""))
    return rows


def waiting_text(waiting: Any) -> str | None:
    """`signal "approve"`, `delay`, `backoff`; None when not waiting."""
    if not isinstance(waiting, dict) or not waiting.get("reason"):
        return None
    return f'signal "{waiting["signal"]}"' if waiting.get("signal") else str(waiting["reason"])


def headline(execution: Json) -> Text:
    status = str(execution.get("status"))
    text = Text.assemble(
        "execution ", (str(execution.get("id")), "bold"), " ", (status, _STYLE.get(status, "")),
    )
    waiting = waiting_text(execution.get("waiting"))
    if waiting:
        text.append(f"  waiting for {waiting}")
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
