"""Overload: trigger -> finished at 50 %, 100 % and 200 % of the measured capacity, open loop
(wrk), the API shedding past API_MAX_IN_FLIGHT (its default); at the highest level also
with shedding off, and with the queued-runs bound (API_MAX_QUEUED_RUNS, off by default) on,
for comparison.

Capacity = executions/s of the `throughput` log run in this same run (one API, one runner,
wrk at 32 connections): what the system sustains with the API in the path. Each level
checks that nothing accepted is lost (every 200 has a finished `ok` execution) and that no
shed trigger ran (a 503 leaves the workflow untouched).
"""

from __future__ import annotations

from typing import Any

from bench.config import default
from bench.infra import Context, System
from bench.latency import at_rate
from bench.seed import log_action
from bench.throughput import concurrent

RAW = ("samples_ms", "sent_offsets_s")


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    await system.reset()
    capacity, source = await _capacity(ctx, system)
    levels = []
    for share in ctx.sizes.overload_levels:
        levels.append(await level(ctx, system, share, capacity, system.apis))
    unshed = None
    if ctx.sizes.overload_unshed:
        key = await system.add_api({"API_MAX_IN_FLIGHT": "0"})
        try:
            unshed = await level(ctx, system, max(ctx.sizes.overload_levels), capacity,
                                 [system.stack.services[key].url])
            unshed["api_max_in_flight"] = 0
        finally:
            await system.remove_api(key)
    bounded = None
    if ctx.sizes.overload_queue_bound:
        bound = ctx.sizes.overload_queue_bound
        key = await system.add_api({"API_MAX_QUEUED_RUNS": str(bound)})
        try:
            bounded = await level(ctx, system, max(ctx.sizes.overload_levels), capacity,
                                  [system.stack.services[key].url])
            bounded["api_max_queued_runs"] = bound
        finally:
            await system.remove_api(key)
    top = levels[-1]
    return {
        "capacity_per_s": capacity, "capacity_source": source,
        "api_max_in_flight": int(default("API_MAX_IN_FLIGHT")),
        "levels": levels, "top": top, "unshed": unshed, "queue_bounded": bounded,
        "lost": sum(x["lost"] for x in [*levels, *(v for v in (unshed, bounded) if v)]),
    }


async def _capacity(ctx: Context, system: System) -> tuple[float, str]:
    log = ctx.results.get("throughput", {}).get("log", {})
    if log.get("e2e_per_s"):
        return float(log["e2e_per_s"]), "throughput.log.e2e_per_s (this run)"
    measured = await concurrent(ctx, system, "cap", log_action(), ctx.sizes.throughput_n)
    await system.reset()
    return float(measured["e2e_per_s"]), "a log e2e run at 32 connections (this part)"


async def level(ctx: Context, system: System, share: float, capacity: float,
                apis: list[str]) -> dict[str, Any]:
    rate = max(1.0, share * capacity)
    result = await at_rate(ctx, system, rate, ctx.sizes.overload_s, apis=apis)
    await system.reset()
    statuses = result["statuses"]
    answered = max(1, result["answered"])
    shed = statuses.get("503", 0)
    result.update({
        "share_of_capacity": share,
        "shed": shed, "shed_share": round(shed / answered, 3),
        "answered_p50_ms": result["p50_ms"], "answered_p99_ms": result["p99_ms"],
        "api_max_in_flight": int(default("API_MAX_IN_FLIGHT")),
    })
    for key in RAW:
        result.pop(key, None)
    return result
