"""End-to-end throughput (log / http-request) driven by wrk, the runner alone draining a
backlog, and the API alone filling it (one API process's capacity); CPU of every process
per execution; runner memory."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from bench.ceilings import cas_run
from bench.commands import alone as commands_alone
from bench.config import TRIGGER_CONCURRENCY
from bench.drive import Load, triggers
from bench.infra import Context, System
from bench.probes import RssSampler, mb, metric, percentiles, scrape, wait_for
from bench.profile import sampled
from bench.seed import (
    count_unreleased,
    executions_of,
    http_action,
    insert,
    log_action,
    manual_doc,
    utcnow,
)
from shared.domain.models import Action
from tests.harness import ServiceProcess


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
    commands = ctx.results.get("commands", {})
    for name, result, with_api in (("log", log, True), ("http", http, True),
                                   ("backlog", backlog, False)):
        counted = commands.get("http" if name == "http" else "log")
        if counted:
            db_bound(result, counted, with_api=with_api)
    if log.get("e2e_per_s") and backlog.get("runner_per_s"):
        log["ratio_to_backlog"] = round(log["e2e_per_s"] / backlog["runner_per_s"], 3)
    steady = [r["runner_rss_steady_mb"] for r in (log, http, backlog) if r["runner_rss_steady_mb"]]
    return {
        "log": log, "http": http, "backlog": backlog, "api_capacity": backlog.pop("fill"),
        "runner_rss_mb": max(steady) if steady else None,
    }


def db_bound(result: dict[str, Any], counted: dict[str, Any], *, with_api: bool) -> None:
    """DB-bound executions/s: 1 / sum over the commands of one execution run alone (API's
    included when it is in the path), each carrying one document, of 1 / that command's
    ceiling on the same collection, measured just before (findAndModify at the CAS
    ceiling, the rest at update_one's). `db_trips`: the commands sent per execution under
    load, where concurrent writes share commands (so the rate may pass that bound)."""
    commands = _per_execution(counted, with_api=with_api)
    one_each = _per_execution(commands_alone(counted), with_api=with_api)
    ceiling = result["adjacent_ceiling"]
    cost_s = sum(per / (ceiling["find_one_and_update"] if name == "findAndModify"
                        else ceiling["update_one"]) for name, per in one_each.items())
    rate = result.get("e2e_per_s") or result.get("runner_per_s")
    result["db_trips"] = round(sum(commands.values()), 2)
    result["db_trips_alone"] = round(sum(one_each.values()), 2)
    result["db_bound_per_s"] = round(1 / cost_s, 1) if cost_s else None
    if rate and cost_s:
        result["ratio_to_ceiling"] = round(rate * cost_s, 3)


def _per_execution(counted: dict[str, Any], *, with_api: bool) -> dict[str, float]:
    """Commands per execution by name, the trigger's added when the API is in the path."""
    commands = dict(counted["per_execution_by_command"])
    if with_api:
        for name, per in counted["per_trigger_by_command"].items():
            commands[name] = commands.get(name, 0) + per
    return commands


async def adjacent_ceiling(ctx: Context, system: System, ids: list[str]) -> dict[str, Any]:
    """The DB ceilings on the very collection about to be measured, just before: the seeded
    (idle) workflows flipped active <-> locked and back, as in `ceilings`."""
    seconds = ctx.sizes.adjacent_ceiling_s
    col = system.db["workflows"]
    fam = await cas_run(col, ids, ctx.concurrency, seconds, idle="active")
    upd = await cas_run(col, ids, ctx.concurrency, seconds, idle="active", op="update_one")
    return {"find_one_and_update": fam["ops_per_s"], "update_one": upd["ops_per_s"],
            "documents": len(ids)}


async def seed(system: System, variant: str, action: Action | list[Action], n: int) -> str:
    prefix = f"tp-{variant}-{uuid.uuid4().hex[:6]}"
    now = utcnow()
    await insert(system.db, (manual_doc(f"{prefix}-{i:06d}", action, now) for i in range(n)))
    return prefix


def ids_of(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:06d}" for i in range(n)]


async def wait_done(ctx: Context, system: System, ok_before: float, expected: int,
                    runners: list[str] | None = None) -> None:
    urls = runners or [r.url for r in system.runners]

    async def all_ok() -> bool:
        done = 0.0
        for url in urls:
            done += metric(await scrape(ctx.http, url), "executions_total")
        return done - ok_before >= expected

    await wait_for(all_ok, timeout_s=60 + expected / 20, interval_s=0.1,
                   what="executions to finish")

    async def released() -> bool:
        return await count_unreleased(system.db) == 0

    await wait_for(released, timeout_s=60, interval_s=0.1, what="workflows released")


async def executions_total(ctx: Context, system: System) -> float:
    return sum([metric(await scrape(ctx.http, r.url), "executions_total")
                for r in system.runners])


def answer_ms(load: Load) -> dict[str, Any]:
    return percentiles([s.answered_s * 1000 for s in load.sent if s.status >= 0])


async def concurrent(
    ctx: Context, system: System, variant: str, action: Action | list[Action], n: int
) -> dict[str, Any]:
    """Trigger n workflows (one action each, or a graph) with wrk at TRIGGER_CONCURRENCY
    while the runner consumes."""
    prefix = await seed(system, variant, action, n)
    ceiling = await adjacent_ceiling(ctx, system, ids_of(prefix, n))
    done_before = await executions_total(ctx, system)
    sampler = RssSampler(system.runner.proc.pid).start()  # type: ignore[union-attr]
    processes = system.processes()
    measure = ctx.measure(processes)
    async with sampled(system.pids("api", "runner"), ctx.profile_dir, variant):
        load = await triggers(system.apis, prefix, n, concurrency=TRIGGER_CONCURRENCY)
        accepted = len(load.accepted)
        await wait_done(ctx, system, done_before, accepted)
    sampler.stop()
    execs = await executions_of(system.db, ids_of(prefix, n))
    result = rates(execs, accepted, load.started)
    cpu = measure.done(result["ok"], load)
    last = max((e["finished_at"].timestamp() for e in execs if e["finished_at"]), default=0)
    rss = sampler.between(load.started + (last - load.started) / 2, last)
    return {
        "n": n, "accepted": accepted, "statuses": load.statuses(), "generator": load.generator,
        "generator_notes": load.notes,
        "trigger_per_s": round(accepted / max(1e-3, load.ended - load.started), 1),
        "trigger_answer_ms": answer_ms(load), "adjacent_ceiling": ceiling, **result, **cpu,
        **_rss(sampler, rss),
    }


def _rss(sampler: RssSampler, steady: list[int]) -> dict[str, float | None]:
    """Steady state = median over the second half of the run; peak over all of it."""
    every = [rss for _, rss in sampler.samples]
    return {
        "runner_rss_steady_mb": mb(statistics.median(steady)) if steady else None,
        "runner_rss_peak_mb": mb(max(every)) if every else None,
    }


def rates(execs: list[dict[str, Any]], accepted: int, started: float) -> dict[str, Any]:
    ok = [e for e in execs if e["status"] == "ok"]
    finished = [e["finished_at"].timestamp() for e in ok if e["finished_at"]]
    created = [e["created_at"].timestamp() for e in ok]
    if not finished:
        return {"ok": 0, "not_ok": len(execs), "missing": accepted - len(execs),
                "e2e_per_s": 0.0, "runner_per_s": 0.0}
    last = max(finished)
    return {
        "ok": len(ok), "not_ok": len(execs) - len(ok), "missing": accepted - len(execs),
        "e2e_s": round(last - started, 2),
        "e2e_per_s": round(len(ok) / (last - started), 1),
        "runner_per_s": round(len(ok) / max(1e-3, last - min(created)), 1),
    }


async def fill(ctx: Context, system: System, prefix: str, n: int,
               concurrency: int = TRIGGER_CONCURRENCY,
               api: ServiceProcess | None = None) -> tuple[Load, dict[str, Any]]:
    """Trigger n workflows with no runner consuming: the API(s) alone (their capacity);
    only `api` if given."""
    measure = ctx.measure({"api": api} if api is not None else system.processes())
    apis = [api.url] if api is not None else system.apis
    load = await triggers(apis, prefix, n, concurrency=concurrency)
    accepted = len(load.accepted)
    answered = [s for s in load.sent if s.status >= 0]
    span = (max(s.sent_at + s.answered_s for s in answered) - min(s.sent_at for s in answered)
            if answered else 0.0)
    result = {
        "n": n, "concurrency": concurrency, "accepted": accepted, "statuses": load.statuses(),
        "generator": load.generator, "generator_notes": load.notes,
        "triggers_per_s": round(accepted / span, 1) if span > 0 else None,
        "trigger_answer_ms": answer_ms(load), **measure.done(accepted, load),
    }
    return load, result


async def drain_backlog(ctx: Context, system: System, n: int, runners: int = 1,
                        runner_env: dict[str, str] | None = None,
                        runner_module: str = "runner_svc") -> dict[str, Any]:
    """The runner(s) alone: stop them, queue n requests through the API (that fill is the
    API's capacity), start fresh runners, time the drain."""
    await system.stop_runners()
    prefix = await seed(system, "backlog", log_action(), n)
    ids = ids_of(prefix, n)
    ceiling = await adjacent_ceiling(ctx, system, ids)
    _, filled = await fill(ctx, system, prefix, n)
    accepted = filled["accepted"]
    await system.start_runners(runners, env=runner_env, module=runner_module)
    processes = system.processes()
    sampler = RssSampler(system.runner.proc.pid).start()  # type: ignore[union-attr]
    measure = ctx.measure({k: v for k, v in processes.items() if k.startswith("runner")})
    measured_from = time.time()
    await wait_done(ctx, system, 0.0, accepted)
    sampler.stop()
    execs = await executions_of(system.db, ids)
    result = rates(execs, accepted, time.time())
    ok = [e for e in execs if e["status"] == "ok"]
    # The CPU counted since every runner was up: divided by the executions finished since
    # (a first runner up drains some while the others still join the group).
    cpu = measure.done(sum(e["finished_at"].timestamp() >= measured_from for e in ok))
    cpu["finished_before_all_up"] = sum(e["finished_at"].timestamp() < measured_from for e in ok)
    first = min(e["created_at"].timestamp() for e in ok)
    last = max(e["finished_at"].timestamp() for e in ok)
    rss = sampler.between(first + (last - first) / 2, last)
    result.pop("e2e_s", None)
    result.pop("e2e_per_s", None)
    return {
        "n": n, "runners": runners, "accepted": accepted, "adjacent_ceiling": ceiling,
        **result, "steady_per_s": steady_rate(ok), "drain_s": round(last - first, 2), **cpu,
        **_rss(sampler, rss), "fill": filled,
    }


def steady_rate(ok: list[dict[str, Any]]) -> float | None:
    """Finishes per second between the 20th and the 90th percentile finish: the drain
    rate without the consumer group's (re)balancing at the start or the tail."""
    finished = sorted(e["finished_at"].timestamp() for e in ok if e["finished_at"])
    if len(finished) < 10:
        return None
    lo, hi = int(0.2 * len(finished)), int(0.9 * len(finished)) - 1
    span = finished[hi] - finished[lo]
    return round((hi - lo) / span, 1) if span > 0 else None
