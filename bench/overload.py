"""Overload: trigger -> finished at 50 %, 100 % and 200 % of the measured capacity, open loop
(wrk), on an API at the defaults: shedding past API_MAX_IN_FLIGHT requests in flight and
while runs wait longer than API_MAX_QUEUE_WAIT_MS for a runner. At the highest level also
without the queue-wait bound and with no shedding at all, for comparison.

Capacity = executions/s of the `throughput` log run in this same run (one API, one runner,
wrk at 32 connections): what the system sustains with the API in the path. Each level
checks that nothing accepted is lost (every 200 has a finished `ok` execution) and that no
shed trigger ran (a 503 leaves the workflow untouched).
"""

from __future__ import annotations

from typing import Any

from bench.config import QUEUE_WAIT, default
from bench.infra import Context, System
from bench.latency import at_rate
from bench.seed import log_action
from bench.throughput import concurrent

RAW = ("samples_ms", "sent_offsets_s")


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    await system.reset()
    capacity, source = await _capacity(ctx, system)
    top_share = max(ctx.sizes.overload_levels)
    async with system.default_api() as api:
        levels = [await level(ctx, system, share, capacity, [api])
                  for share in ctx.sizes.overload_levels]
    unbounded = None
    if ctx.sizes.overload_unbounded_queue:  # the stack's own API: the queue-wait bound off
        unbounded = await level(ctx, system, top_share, capacity, [system.api])
        unbounded[QUEUE_WAIT.lower()] = 0
    unshed = None
    if ctx.sizes.overload_unshed:
        async with system.extra_api({"API_MAX_IN_FLIGHT": "0"}) as api:
            unshed = await level(ctx, system, top_share, capacity, [api])
        unshed.update({"api_max_in_flight": 0, QUEUE_WAIT.lower(): 0})
    top = levels[-1]
    return {
        "capacity_per_s": capacity, "capacity_source": source,
        "api_max_in_flight": int(default("API_MAX_IN_FLIGHT")),
        QUEUE_WAIT.lower(): int(default(QUEUE_WAIT)),
        "levels": levels, "top": top, "unshed": unshed, "queue_unbounded": unbounded,
        "lost": sum(x["lost"] for x in [*levels, *(v for v in (unshed, unbounded) if v)]),
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
