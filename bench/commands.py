"""DB commands per trigger and per execution, counted by PyMongo command monitoring.

Its own stack, the only one with `DB_COMMAND_METRICS=1` (the services then count every
command they send in `db_commands_total{command}`); every other part runs the defaults,
where the listener is off. Counted twice per variant: under load (triggers at 32 in
flight), where concurrent inserts and releases share commands (`DB_COALESCE_WRITES`), and
`alone` (one trigger every 1 / ALONE_RATE_PER_S s, each finished before the next), where
every command carries one document: what the DB-bound ceilings price.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from bench.config import TRIGGER_CONCURRENCY
from bench.drive import triggers
from bench.infra import Context, System
from bench.probes import Samples, command_delta, metric, scrape, wait_for
from bench.seed import (
    count_unreleased,
    executions_of,
    fan_out_actions,
    http_action,
    insert,
    log_action,
    manual_doc,
    utcnow,
)
from shared.domain.models import Action

STARTUP_ONLY = ("createIndexes", "listIndexes")
ALONE_N = 10
ALONE_RATE_PER_S = 5.0  # an execution takes a few ms: no two of them overlap


async def run(ctx: Context) -> dict[str, Any]:
    stack = ctx.new_stack("cmd", {"DB_COMMAND_METRICS": "1"})
    await asyncio.to_thread(stack.start)
    system = System(stack, ctx.database(stack.base_env()["DATABASE_NAME"]))
    try:
        log = await count(ctx, system, "log", log_action())
        target = await ctx.target_url()
        http = await count(ctx, system, "http", http_action(f"{target}/ok"))
        fan_out = await count(ctx, system, "fanout", fan_out_actions(f"{target}/ok"))
    finally:
        await asyncio.to_thread(stack.stop)
    fan_out["actions"] = len(fan_out_actions("http://x/"))
    fan_out["per_action"] = round(fan_out["per_execution"] / fan_out["actions"], 2)
    return {"log": log, "http": http, "fanout": fan_out,
            "setting": "DB_COMMAND_METRICS=1 (this part only)"}


async def _scrape_all(ctx: Context, system: System) -> dict[str, Samples]:
    urls = {"api": system.api, "runner": system.runner.url, "scheduler": system.scheduler.url}
    return {k: await scrape(ctx.http, url) for k, url in urls.items()}


async def count(
    ctx: Context, system: System, variant: str, action: Action | list[Action]
) -> dict[str, Any]:
    """The commands of `variant` under load, with those of executions run `alone` beside."""
    counted = await _count(ctx, system, variant, action, ctx.sizes.commands_n, rate=0.0)
    alone = await _count(ctx, system, variant, action, min(ALONE_N, ctx.sizes.commands_n),
                         rate=ALONE_RATE_PER_S)
    return {**counted, "alone": {k: alone[k] for k in (
        "n", "ok", "per_trigger", "per_execution", "per_trigger_by_command",
        "per_execution_by_command")}}


def alone(counted: dict[str, Any]) -> dict[str, Any]:
    """The counts of executions run one at a time (a report made before them: its own)."""
    return counted.get("alone") or counted


async def _count(
    ctx: Context, system: System, variant: str, action: Action | list[Action], n: int, *,
    rate: float,
) -> dict[str, Any]:
    prefix = f"cmd-{variant}-{uuid.uuid4().hex[:6]}"
    now = utcnow()
    await insert(system.db, (manual_doc(f"{prefix}-{i:06d}", action, now) for i in range(n)))
    before = await _scrape_all(ctx, system)
    concurrency = 1 if rate else min(TRIGGER_CONCURRENCY, n)
    load = await triggers(system.apis, prefix, n, concurrency=concurrency, rate=rate)
    accepted = len(load.accepted)
    ok_before = metric(before["runner"], "executions_total")

    async def finished() -> bool:
        done = metric(await scrape(ctx.http, system.runner.url), "executions_total")
        return done - ok_before >= accepted and await count_unreleased(system.db) == 0

    await wait_for(finished, timeout_s=60 + n / 10, what="executions to finish")
    after = await _scrape_all(ctx, system)
    execs = await executions_of(system.db, [f"{prefix}-{i:06d}" for i in range(n)])
    ok = sum(1 for e in execs if e["status"] == "ok")
    commands = {k: {c: v for c, v in command_delta(before[k], after[k]).items()
                    if c not in STARTUP_ONLY} for k in before}
    ticks = (metric(after["scheduler"], "scheduler_tick_duration_seconds_count")
             - metric(before["scheduler"], "scheduler_tick_duration_seconds_count"))
    api_total, runner_total = sum(commands["api"].values()), sum(commands["runner"].values())
    return {
        "n": n, "accepted": accepted, "ok": ok, "statuses": load.statuses(),
        "per_trigger": round(api_total / max(1, accepted), 2),
        "per_execution": round(runner_total / max(1, ok), 2),
        "per_trigger_by_command": {c: round(v / max(1, accepted), 2)
                                   for c, v in commands["api"].items()},
        "per_execution_by_command": {c: round(v / max(1, ok), 2)
                                     for c, v in commands["runner"].items()},
        "scheduler_ticks": int(ticks),
        "scheduler_per_tick": round(sum(commands["scheduler"].values()) / ticks, 2)
        if ticks else None,
        "scheduler_by_command": commands["scheduler"],
    }
