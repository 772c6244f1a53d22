"""End-to-end throughput (log / http-request), DB round trips, runner memory, and the
runner alone draining a backlog."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from bench.ceilings import cas_run
from bench.config import TRIGGER_CONCURRENCY
from bench.infra import Context, System
from bench.probes import (
    CpuMeter,
    RssSampler,
    command_delta,
    mb,
    metric,
    percentiles,
    scrape,
    wait_for,
)
from bench.profile import sampled
from bench.seed import (
    count_unreleased,
    executions_of,
    http_action,
    insert,
    log_action,
    manual_doc,
    trigger_all,
    utcnow,
)
from shared.models import Action

STARTUP_ONLY = ("createIndexes", "listIndexes")


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    sizes = ctx.sizes
    await system.reset()
    log = await concurrent(ctx, system, "log", log_action(), sizes.throughput_n)
    target = await ctx.target_url()
    await system.reset()
    http = await concurrent(ctx, system, "http", http_action(f"{target}/ok"), sizes.http_n)
    await system.reset()
    backlog = await drain_backlog(ctx, system, sizes.backlog_n)
    await system.reset()
    ceiling = ctx.results.get("ceilings", {}).get("db", {}).get("ops_per_s")
    for result, rt_key, rate_key in (
        (log, "rt_system", "e2e_per_s"), (http, "rt_system", "e2e_per_s"),
        (backlog, "rt_runner", "runner_per_s"),
    ):
        if not result[rt_key]:
            continue
        adjacent = result["adjacent_ceiling"]["ops_per_s"]
        result["db_ops_per_s"] = round(result[rate_key] * result[rt_key], 1)
        result["db_bound_per_s"] = round(adjacent / result[rt_key], 1)
        result["ratio_to_ceiling"] = round(result[rate_key] / result["db_bound_per_s"], 3)
        if ceiling:
            result["ratio_to_first_ceiling"] = round(
                result[rate_key] * result[rt_key] / ceiling, 3
            )
    steady = [r["runner_rss_steady_mb"] for r in (log, http, backlog) if r["runner_rss_steady_mb"]]
    return {
        "log": log, "http": http, "backlog": backlog,
        "runner_rss_mb": max(steady) if steady else None,
    }


async def adjacent_ceiling(ctx: Context, system: System, ids: list[str]) -> dict[str, Any]:
    """The DB ceiling on the very collection about to be measured, just before: the
    seeded (idle) workflows flipped active <-> locked and back, as in `ceilings`."""
    result = await cas_run(
        system.db["workflows"], ids, ctx.concurrency, ctx.sizes.adjacent_ceiling_s, idle="active"
    )
    return {"ops_per_s": result["ops_per_s"], "latency_ms": result["latency_ms"],
            "documents": len(ids)}


async def _seed(system: System, variant: str, action: Action, n: int) -> list[str]:
    prefix = f"tp-{variant}-{uuid.uuid4().hex[:6]}"
    ids = [f"{prefix}-{i:06d}" for i in range(n)]
    now = utcnow()
    await insert(system.db, (manual_doc(i, action, now) for i in ids))
    return ids


async def wait_done(ctx: Context, system: System, ids: list[str], ok_before: float,
                     expected: int) -> None:
    async def all_ok() -> bool:
        samples = await scrape(ctx.http, system.runner.url)
        done = metric(samples, "executions_total") - ok_before
        return done >= expected

    await wait_for(all_ok, timeout_s=60 + expected / 20, what="executions to finish")

    async def released() -> bool:
        return await count_unreleased(system.db) == 0

    await wait_for(released, timeout_s=60, interval_s=0.1, what="workflows released")


async def concurrent(
    ctx: Context, system: System, variant: str, action: Action, n: int
) -> dict[str, Any]:
    """Trigger n workflows as fast as the API takes them while the runner consumes."""
    ids = await _seed(system, variant, action, n)
    ceiling = await adjacent_ceiling(ctx, system, ids)
    services = {"api": system.api, "runner": system.runner.url, "scheduler": system.scheduler.url}
    before = {k: await scrape(ctx.http, url) for k, url in services.items()}
    done_before = metric(before["runner"], "executions_total")
    sampler = RssSampler(system.runner.proc.pid).start()  # type: ignore[union-attr]
    pids = {"runner": system.runner.proc.pid, "api": system.stack.services[  # type: ignore
        "workflows_svc"].proc.pid}
    cpu = CpuMeter(ctx.cpu_pids({
        "api": system.stack.services["workflows_svc"], "runner": system.runner,
        "scheduler": system.scheduler,
    }))
    async with sampled(pids, ctx.profile_dir, variant):
        started = time.time()
        sent = await trigger_all(system.api, ids, concurrency=TRIGGER_CONCURRENCY)
        triggered = time.time()
        accepted = sum(1 for s in sent if s.status == 200)
        await wait_done(ctx, system, ids, done_before, accepted)
    cpu_pct = cpu.read()
    after = {k: await scrape(ctx.http, url) for k, url in services.items()}
    sampler.stop()
    execs = await executions_of(system.db, ids)
    result = _rates(execs, accepted, started)
    commands = {k: command_delta(before[k], after[k]) for k in services}
    rt_runner = sum(commands["runner"].values()) / max(1, result["ok"])
    rt_api = sum(commands["api"].values()) / max(1, accepted)
    last = max((e["finished_at"].timestamp() for e in execs if e["finished_at"]), default=0)
    rss = sampler.between(started + (last - started) / 2, last)
    return {
        "n": n, "accepted": accepted, "refused": n - accepted,
        "trigger_per_s": round(accepted / (triggered - started), 1),
        "trigger_answer_ms": percentiles([s.answered_s * 1000 for s in sent]),
        "adjacent_ceiling": ceiling, **result,
        "rt_runner": round(rt_runner, 2), "rt_api": round(rt_api, 2),
        "rt_system": round(rt_runner + rt_api, 2), "commands": commands, "cpu_pct": cpu_pct,
        **_rss(sampler, rss),
    }


def _rss(sampler: RssSampler, steady: list[int]) -> dict[str, float | None]:
    """Steady state = median over the second half of the run; peak over all of it."""
    every = [rss for _, rss in sampler.samples]
    return {
        "runner_rss_steady_mb": mb(statistics.median(steady)) if steady else None,
        "runner_rss_peak_mb": mb(max(every)) if every else None,
    }


def _rates(execs: list[dict[str, Any]], accepted: int, started: float) -> dict[str, Any]:
    ok = [e for e in execs if e["status"] == "ok"]
    finished = [e["finished_at"].timestamp() for e in ok if e["finished_at"]]
    created = [e["created_at"].timestamp() for e in ok]
    if not finished:
        return {"ok": 0, "not_ok": len(execs), "e2e_per_s": 0.0, "runner_per_s": 0.0}
    last = max(finished)
    return {
        "ok": len(ok), "not_ok": len(execs) - len(ok), "missing": accepted - len(execs),
        "e2e_s": round(last - started, 2),
        "e2e_per_s": round(len(ok) / (last - started), 1),
        "runner_per_s": round(len(ok) / max(1e-3, last - min(created)), 1),
    }


async def drain_backlog(ctx: Context, system: System, n: int) -> dict[str, Any]:
    """The runner alone: stop it, queue n requests, start a fresh runner, time the drain."""
    await system.replace_runner(start=False)
    ids = await _seed(system, "backlog", log_action(), n)
    ceiling = await adjacent_ceiling(ctx, system, ids)
    sent = await trigger_all(system.api, ids, concurrency=TRIGGER_CONCURRENCY)
    accepted = sum(1 for s in sent if s.status == 200)
    await system.replace_runner(start=True)
    sampler = RssSampler(system.runner.proc.pid).start()  # type: ignore[union-attr]
    cpu = CpuMeter(ctx.cpu_pids({"runner": system.runner}))
    await wait_done(ctx, system, ids, 0.0, accepted)
    cpu_pct = cpu.read()
    samples = await scrape(ctx.http, system.runner.url)
    sampler.stop()
    execs = await executions_of(system.db, ids)
    result = _rates(execs, accepted, time.time())
    ok = [e for e in execs if e["status"] == "ok"]
    first = min(e["created_at"].timestamp() for e in ok)
    last = max(e["finished_at"].timestamp() for e in ok)
    commands = {k: v for k, v in command_delta([], samples).items() if k not in STARTUP_ONLY}
    rss = sampler.between(first + (last - first) / 2, last)
    result.pop("e2e_s", None)
    result.pop("e2e_per_s", None)
    return {
        "n": n, "accepted": accepted, "adjacent_ceiling": ceiling, **result,
        "drain_s": round(last - first, 2),
        "rt_runner": round(sum(commands.values()) / max(1, len(ok)), 2),
        "commands": {"runner": commands}, "cpu_pct": cpu_pct,
        **_rss(sampler, rss),
    }
