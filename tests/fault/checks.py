"""The end-of-scenario checks every fault test shares, over the API and the database.

- every accepted trigger (200) produced exactly one execution that reached ok or failed
  (one execution document per accepted trigger: executions of a workflow == its 200s,
  plus at most one per attempt the client could not get an answer for);
- no execution completed twice: a final status is recorded once per execution (at most one
  "attempt finished" with a final status in all runner logs, killed incarnations included),
  and no action of an execution has two `ok` results;
- nothing is left pending, `scheduled` or `locked` once the system has settled.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from shared.adapters.mappers import EXECUTION_HANDLER
from tests.fault.load import Db, Json, Ledger, wait_idle
from tests.harness import Stack

FINAL = ("ok", "failed")
_SAMPLE_RE = re.compile(r'^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')


@dataclass
class Summary:
    workflows: int
    accepted: int
    executions: int
    ok: int
    failed: int
    maybe: int
    answers: dict[str, int]
    logged_final: int

    def line(self) -> str:
        return (f"{self.workflows} workflows, {self.accepted} accepted triggers -> "
                f"{self.executions} executions ({self.ok} ok, {self.failed} failed); "
                f"answers {dict(sorted(self.answers.items()))}; unknown-fate attempts "
                f"{self.maybe}")


def runner_logs(stack: Stack) -> list[Path]:
    """Every runner's log file (a restarted process appends to the same file)."""
    return sorted(stack.workdir.glob("runner*.log"))


def _problems(title: str, items: list[str]) -> str:
    shown = "\n  ".join(items[:10])
    return f"{title}: {len(items)} problem(s)\n  {shown}"


def execution_problems(doc: Json) -> list[str]:
    """Why this execution is not one that reached a final status exactly once."""
    found = []
    if doc["status"] not in FINAL:
        found.append(f"status {doc['status']}")
    if doc.get("finished_at") is None:
        found.append("no finished_at")
    results = EXECUTION_HANDLER.from_document(doc).executed_actions
    ok_runs = Counter(r.action_id for r in results if r.status == "ok")
    twice = sorted(a for a, n in ok_runs.items() if n > 1)
    if twice:
        found.append(f"actions {twice} ran ok more than once")
    if doc["status"] == "ok" and set(ok_runs) != set(range(1, doc["total_actions"] + 1)):
        found.append(f"ok but ok actions are {sorted(ok_runs)} of {doc['total_actions']}")
    return [f"execution {doc['id']} of {doc['workflow_id']}: {p}" for p in found]


def final_attempts_in_logs(logs: list[Path]) -> Counter[str]:
    """Attempts that ended ok/failed, per execution id, from the runners' JSON logs."""
    seen: Counter[str] = Counter()
    for path in logs:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if '"attempt finished"' not in line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "attempt finished" and event.get("status") in FINAL:
                seen[str(event.get("execution_id"))] += 1
    return seen


def scheduler_totals(logs: list[Path]) -> Counter[str]:
    """Sums of the schedulers' per-tick reports (dispatched, redispatched, recovered, ...)."""
    totals: Counter[str] = Counter()
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            if '"scheduler tick"' not in line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "scheduler tick":
                totals.update({k: int(v) for k, v in event.items() if isinstance(v, int)})
    return totals


async def executions_by_workflow(db: Db, ids: list[str]) -> dict[str, list[Json]]:
    grouped: dict[str, list[Json]] = defaultdict(list)
    async for doc in db.executions.find({"workflow_id": {"$in": ids}}, {"_id": 0}):
        grouped[doc["workflow_id"]].append(doc)
    return grouped


async def api_agrees(client: httpx.AsyncClient, db_view: dict[str, list[Json]],
                     ids: list[str]) -> list[str]:
    """The API reports the same executions and an idle state for every workflow."""
    gate = asyncio.Semaphore(16)

    async def one(workflow_id: str) -> list[str]:
        async with gate:
            state = await client.get(f"/workflows/{workflow_id}")
            items: list[Json] = []
            params = {"limit": "200"}
            while True:
                page = await client.get(f"/workflows/{workflow_id}/executions", params=params)
                assert page.status_code == 200, page.text
                items.extend(page.json()["items"])
                if page.json()["next_cursor"] is None:
                    break
                params["cursor"] = page.json()["next_cursor"]
        found = []
        if state.status_code != 200:
            return [f"{workflow_id}: GET answered {state.status_code}"]
        body = state.json()
        if body["status"] != "active" or body["trigger"]["status"] is not None:
            found.append(f"{workflow_id}: API state {body['status']}/{body['trigger']['status']}")
        api = {e["id"]: e["status"] for e in items}
        stored = {e["id"]: e["status"] for e in db_view.get(workflow_id, [])}
        if api != stored:
            found.append(f"{workflow_id}: API executions {api} != database {stored}")
        return found

    results = await asyncio.gather(*(one(w) for w in ids))
    return [p for r in results for p in r]


async def check_manual(
    db: Db, client: httpx.AsyncClient, ledger: Ledger, *, runner_logs: list[Path],
    settle_timeout_s: float = 60.0,
) -> Summary:
    """Settle, then assert the invariants of the module docstring; the measured summary."""
    ids = list(ledger.owed)
    assert not ledger.unexpected, _problems("unexpected answers", ledger.unexpected)
    await wait_idle(db, ids, timeout_s=settle_timeout_s)

    grouped = await executions_by_workflow(db, ids)
    problems: list[str] = []
    for workflow_id, owed in ledger.owed.items():
        count = len(grouped.get(workflow_id, []))
        if not owed.exact <= count <= owed.exact + owed.maybe:
            problems.append(f"{workflow_id}: {count} executions for {owed.exact} accepted "
                            f"triggers (+ up to {owed.maybe} unanswered)")
    docs = [d for group in grouped.values() for d in group]
    for doc in docs:
        problems.extend(execution_problems(doc))
    assert not problems, _problems("executions vs accepted triggers", problems)

    logged = final_attempts_in_logs(runner_logs)
    ours = {d["id"] for d in docs}
    twice = {e: n for e, n in logged.items() if n > 1 and e in ours}
    assert not twice, f"executions completed more than once (runner logs): {twice}"
    logged_final = sum(n for e, n in logged.items() if e in ours)
    assert logged_final or not docs, "no final attempt found in the runner logs: log format?"

    # Fresh connections: pooled ones may point at a service process that was restarted.
    async with httpx.AsyncClient(base_url=client.base_url, timeout=30.0) as fresh:
        disagreements = await api_agrees(fresh, grouped, ids)
    assert not disagreements, _problems("API vs database", disagreements)

    statuses = Counter(d["status"] for d in docs)
    return Summary(
        workflows=len(ids), accepted=ledger.accepted, executions=len(docs),
        ok=statuses["ok"], failed=statuses["failed"],
        maybe=sum(o.maybe for o in ledger.owed.values()), answers=dict(ledger.answers),
        logged_final=logged_final,
    )


async def check_periodic(db: Db, ids: list[str], *, settle_timeout_s: float = 60.0) -> int:
    """Periodic runs (dispatch stopped): all final, idle, one run per grid slot at most.

    A run is created after its slot's time and before the next run's slot is computed, so
    two runs of one workflow in the same slot mean that slot was dispatched twice.
    Returns the number of runs.
    """
    await wait_idle(db, ids, timeout_s=settle_timeout_s)
    definitions = {
        d["workflow_id"]: d async for d in db.workflows.find(
            {"workflow_id": {"$in": ids}}, {"_id": 0, "workflow_id": 1, "created_at": 1,
                                            "trigger.interval_ms": 1})
    }
    grouped = await executions_by_workflow(db, ids)
    problems: list[str] = []
    for workflow_id in ids:
        runs = grouped.get(workflow_id, [])
        if not runs:
            problems.append(f"{workflow_id}: no run at all")
        definition = definitions[workflow_id]
        slots = Counter(
            _slot(run["created_at"], definition["created_at"],
                  definition["trigger"]["interval_ms"]) for run in runs
        )
        doubled = sorted(s for s, n in slots.items() if n > 1)
        if doubled:
            problems.append(f"{workflow_id}: grid slots {doubled} ran more than once")
        for run in runs:
            problems.extend(execution_problems(run))
    assert not problems, _problems("periodic runs", problems)
    return sum(len(g) for g in grouped.values())


def _slot(at: datetime, origin: datetime, interval_ms: int) -> int:
    return int((at - origin).total_seconds() * 1000 // interval_ms)


async def metric(client: httpx.AsyncClient, base_url: str, name: str,
                 **labels: str) -> float:
    """Sum of the samples of `name` (with these labels) on a service's /metrics."""
    response = await client.get(f"{base_url}/metrics")
    assert response.status_code == 200, response.text
    total = 0.0
    for line in response.text.splitlines():
        match = _SAMPLE_RE.match(line)
        if not match or match["name"] != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(match["value"])
    return total
