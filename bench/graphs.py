"""Fan-out graph throughput: 1 root `log` -> 8 parallel `http-request` GETs of the local
target server -> 1 `log` join, triggered with wrk (32 connections) while one runner consumes.

Executions/s next to the DB-bound ceiling of the DB commands one such execution sends
(counted in the `commands` part, `commands.fanout`, API's trigger included), priced at the
ceilings measured on the very collection just before (as `throughput` does).
"""

from __future__ import annotations

from typing import Any

from bench.infra import Context
from bench.seed import fan_out_actions
from bench.throughput import concurrent, db_bound

WIDTH = 8


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    await system.reset()
    actions = fan_out_actions(f"{await ctx.target_url()}/ok", WIDTH)
    result = await concurrent(ctx, system, "fanout", actions, ctx.sizes.fanout_n)
    await system.reset()
    result["actions"], result["http_actions"] = len(actions), WIDTH
    counted = (ctx.results.get("commands") or {}).get("fanout")
    if counted:
        db_bound(result, counted, with_api=True)
        result["db_trips_per_action"] = round(result["db_trips"] / len(actions), 2)
        result["runner_trips_per_action"] = counted.get("per_action")
    rate = result.get("e2e_per_s") or 0.0
    result["actions_per_s"] = round(rate * len(actions), 1)
    result["http_requests_per_s"] = round(rate * WIDTH, 1)
    return result
