"""Cost growth: read endpoints and the scheduler's idle tick with 1k, 10k and 100k stored
workflows (10 executions each: 1M at the top, inserted with insert_many in batches), and the
query plans MongoDB chose for each (`explain`, executionStats).

One API process on its own database (it creates the product's indexes at startup). 10 % of
the workflows are periodic with their next run a day away, the rest manual, so nothing is
due; one "hot" workflow holds 1 % of the executions (a workflow that ran for a long time),
so a list of its executions shows whether the newest-first sort is served by an index.
Requests go one at a time (p99 of `cost_samples` each). The tick is the product's own
Scheduler.run_once + earliest_next_run (one loop iteration) over the same database,
in this process. The commands the adapters send are recorded by command monitoring and
explained as sent.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from bench.infra import Context
from bench.probes import Window, percentiles
from bench.seed import execution_doc, insert, log_action, manual_doc, periodic_doc, utcnow
from scheduler_svc.scheduler import Scheduler
from shared.adapters.clock import SystemClock
from shared.adapters.mappers import EXECUTION_HANDLER, WORKFLOW_HANDLER
from shared.adapters.mongo import MongoExecutionRepository, MongoWorkflowRepository
from shared.domain.models import ExecutionRequest
from workflows_svc.views import encode_cursor

Doc = dict[str, Any]
HOT = "cost-hot"
HOT_SHARE = 0.01
PERIODIC_EVERY = 10
BATCH = 10_000
ENDPOINTS = ("GET /workflows/{id}", "GET /workflows?limit=50", "GET /workflows?limit=50 deep",
             "GET /workflows/{id}/executions", "GET /workflows/{hot}/executions",
             "scheduler idle tick")
EXPLAINED = ("find", "aggregate", "count", "distinct")
# Indexes ensure_indexes gained in issue 15: the top level is measured again without them.
ADDED_INDEXES = {"workflows": [("trigger.next_run", 1)],
                 "executions": [("workflow_id", 1), ("created_at", -1), ("id", -1)]}


def wf_id(i: int) -> str:
    return f"cost-{i:07d}"


class _NoPublisher:
    """Nothing is due: the idle tick never publishes."""

    async def publish(self, request: ExecutionRequest) -> None:
        raise AssertionError("nothing should be due")

    async def publish_many(self, requests: Any) -> list[bool]:
        raise AssertionError("nothing should be due")


class _Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[Doc] = []
        self.on = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on and event.command_name in EXPLAINED:
            self.commands.append(copy.deepcopy(dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


async def run(ctx: Context) -> dict[str, Any]:
    stack = ctx.new_stack("cost")
    await asyncio.to_thread(stack.add, "workflows_svc")
    name = stack.base_env()["DATABASE_NAME"]
    db = ctx.database(name)
    recorder = _Recorder()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(ctx.mongo_url, tz_aware=True,
                                                     event_listeners=[recorder])
    per_wf = ctx.sizes.cost_executions_per_workflow
    levels: list[dict[str, Any]] = []
    stored = executions = 0
    now = utcnow()
    try:
        await db["workflows"].insert_one(manual_doc(HOT, log_action(), now))
        for target in ctx.sizes.cost_levels:
            window = Window()
            insert_s = await _grow(db, stored, target, per_wf, executions, now)
            executions += (target - stored) * per_wf
            stored = target
            hot = await db["executions"].count_documents({"workflow_id": HOT})
            row: dict[str, Any] = {"workflows": stored + 1, "executions": executions + hot,
                   "hot_executions": hot, "insert_s": round(insert_s, 1)}
            row["p99_ms"], row["latency_ms"] = await _endpoints(ctx, stack.api, client[name],
                                                                 stored)
            row["plans"] = await _explain(client[name], recorder, stored)
            row["machine"] = window.close()
            levels.append(row)
        without = await _without_added_indexes(ctx, stack.api, db, client[name], recorder,
                                               stored, levels[-1])
    finally:
        await client.close()
        await asyncio.to_thread(stack.stop)
    first, last = levels[0]["p99_ms"], levels[-1]["p99_ms"]
    growth = {k: round(last[k] / first[k], 2) if first.get(k) and last.get(k) else None
              for k in ENDPOINTS}
    unserved = sorted({p["query"] for row in levels for p in row["plans"]
                       if not p["index_served"]})
    return {
        "levels": levels, "growth": growth,
        "worst_growth": max((g for g in growth.values() if g is not None), default=None),
        "not_index_served": unserved, "without_added_indexes": without,
    }


async def _without_added_indexes(
    ctx: Context, api: str, db: AsyncDatabase[Doc], explain_db: AsyncDatabase[Doc],
    recorder: _Recorder, stored: int, top: dict[str, Any],
) -> dict[str, Any] | None:
    """The largest size again with ADDED_INDEXES dropped (the API process does not recreate
    them): what those indexes buy, in the same run."""
    dropped = []
    for collection, keys in ADDED_INDEXES.items():
        present = await db[collection].index_information()
        for index_name, info in present.items():
            if [(k, int(d)) for k, d in info["key"]] == keys:
                await db[collection].drop_index(index_name)
                dropped.append(index_name)
    if not dropped:
        return None
    window = Window()
    p99, latency = await _endpoints(ctx, api, explain_db, stored)
    return {"dropped": dropped, "workflows": top["workflows"], "executions": top["executions"],
            "p99_ms": p99, "latency_ms": latency,
            "plans": await _explain(explain_db, recorder, stored), "machine": window.close()}


async def _grow(db: AsyncDatabase[Doc], start: int, stop: int, per_wf: int, executions: int,
                now: Any) -> float:
    """Workflows [start, stop) with per_wf executions each, and the hot workflow's share."""
    day = now + timedelta(days=1)

    def workflows() -> Any:
        for i in range(start, stop):
            if i % PERIODIC_EVERY == 0:
                yield periodic_doc(wf_id(i), interval_s=3600, created_at=now, next_run=day)
            else:
                yield manual_doc(wf_id(i), log_action(), now)

    template = execution_doc("template", "template", now)
    new = (stop - start) * per_wf
    hot_new = max(1, int(new * HOT_SHARE))

    def docs() -> Any:
        k = executions
        for i in range(start, stop):
            for _ in range(per_wf):
                yield _execution(template, f"x-{k:09d}", wf_id(i), now, k)
                k += 1
        for j in range(hot_new):
            yield _execution(template, f"h-{executions + j:09d}", HOT, now, executions + j)

    started = time.perf_counter()
    await insert(db, workflows(), batch_size=BATCH)
    await insert(db, docs(), collection="executions", batch_size=BATCH)
    return time.perf_counter() - started


def _execution(template: Doc, execution_id: str, workflow_id: str, now: Any, k: int) -> Doc:
    created = now - timedelta(seconds=k)
    return {**template, "id": execution_id, "workflow_id": workflow_id, "created_at": created,
            "finished_at": created + timedelta(milliseconds=3)}


async def _endpoints(ctx: Context, api: str, db: AsyncDatabase[Doc], stored: int) -> tuple[
        dict[str, float | None], dict[str, Any]]:
    pick = random.Random(stored)
    samples = ctx.sizes.cost_samples
    deep = encode_cursor({"after": wf_id(int(stored * 0.9))})
    paths = {
        "GET /workflows/{id}": lambda: f"/workflows/{wf_id(pick.randrange(stored))}",
        "GET /workflows?limit=50": lambda: "/workflows?limit=50",
        "GET /workflows?limit=50 deep": lambda: f"/workflows?limit=50&cursor={deep}",
        "GET /workflows/{id}/executions":
            lambda: f"/workflows/{wf_id(pick.randrange(stored))}/executions",
        "GET /workflows/{hot}/executions": lambda: f"/workflows/{HOT}/executions",
    }
    latency: dict[str, Any] = {}
    for name, path in paths.items():
        for _ in range(5):
            (await ctx.http.get(api + path(), timeout=30)).raise_for_status()
        took = []
        for _ in range(samples):
            started = time.perf_counter()
            response = await ctx.http.get(api + path(), timeout=30)
            took.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        latency[name] = percentiles(took)
    latency["scheduler idle tick"] = await _ticks(db, max(10, samples // 4))
    return {k: v["p99"] for k, v in latency.items()}, latency


async def _ticks(db: AsyncDatabase[Doc], count: int) -> dict[str, Any]:
    """One scheduler loop iteration with nothing due: run_once + earliest_next_run."""
    repo = MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER)
    clock = SystemClock()
    scheduler = Scheduler(
        workflows=repo, executions=MongoExecutionRepository(db["executions"], EXECUTION_HANDLER),
        publisher=_NoPublisher(), clock=clock,
    )
    took = []
    for i in range(count + 2):
        started = time.perf_counter()
        report = await scheduler.run_once()
        await repo.earliest_next_run(clock.now())
        if i >= 2:  # warm up
            took.append((time.perf_counter() - started) * 1000)
        assert not report.dispatched, "nothing should be due"
    return percentiles(took)


async def _explain(db: AsyncDatabase[Doc], recorder: _Recorder, stored: int) -> list[Doc]:
    """The adapters' own queries, recorded as sent, explained with executionStats."""
    workflows = MongoWorkflowRepository(db["workflows"], WORKFLOW_HANDLER)
    executions = MongoExecutionRepository(db["executions"], EXECUTION_HANDLER)
    scheduler = Scheduler(workflows=workflows, executions=executions, publisher=_NoPublisher(),
                          clock=SystemClock())
    queries: list[tuple[str, Any]] = [
        ("GET /workflows/{id}: workflows.get", lambda: workflows.get(wf_id(stored // 2))),
        ("GET /workflows?limit=50: list_after(None)",
         lambda: workflows.list_after(after_id=None, limit=51)),
        ("GET /workflows?limit=50 deep: list_after(id)",
         lambda: workflows.list_after(after_id=wf_id(int(stored * 0.9)), limit=51)),
        ("GET /workflows/{id}/executions: list_for_workflow", lambda: executions.list_for_workflow(
            wf_id(stored // 2), status=None, before=None, limit=51)),
        ("GET /workflows/{hot}/executions: list_for_workflow", lambda: executions.list_for_workflow(
            HOT, status=None, before=None, limit=51)),
        ("scheduler tick: run_once", scheduler.run_once),
        ("scheduler tick: earliest_next_run",
         lambda: workflows.earliest_next_run(SystemClock().now())),
    ]
    plans = []
    for label, call in queries:
        recorder.commands.clear()
        recorder.on = True
        try:
            await call()
        finally:
            recorder.on = False
        for i, command in enumerate(recorder.commands):
            name = next(iter(command))
            body = {k: v for k, v in command.items()
                    if not k.startswith("$") and k not in ("lsid", "txnNumber")}
            explained = await db.command({"explain": body, "verbosity": "executionStats"})
            plans.append({"query": label + (f" #{i + 1}" if len(recorder.commands) > 1 else ""),
                          "command": name, **_summary(explained), "filter": str(
                              body.get("filter", body.get("query", {})))[:160],
                          "sort": str(body.get("sort", ""))})
    return plans


def _summary(explained: Doc) -> Doc:
    winning = explained["queryPlanner"]["winningPlan"]
    plan = winning.get("queryPlan", winning)
    stats = explained.get("executionStats", {})
    text = _stages(plan)
    return {
        "plan": text, "index_served": "COLLSCAN" not in text,
        "blocking_sort": "SORT" in text.replace("SORT_MERGE", "").replace("SORT_KEY_GENERATOR",
                                                                          ""),
        "keys_examined": stats.get("totalKeysExamined"),
        "docs_examined": stats.get("totalDocsExamined"), "returned": stats.get("nReturned"),
        "ms": stats.get("executionTimeMillis"),
    }


def _stages(node: Doc) -> str:
    name = node.get("stage", "?")
    if node.get("indexName"):
        name += f"[{node['indexName']}]"
    children = ([node["inputStage"]] if "inputStage" in node else node.get("inputStages", []))
    if not children:
        return name
    if len(children) == 1:
        return f"{name} < {_stages(children[0])}"
    return f"{name}(" + " | ".join(_stages(c) for c in children) + ")"
