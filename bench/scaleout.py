"""Scale-out: 1, 2, 3 runner processes sharing the topic's 6 partitions (a backlog drained by
each count), and 2 API processes behind the same database (their fill capacity and the
end-to-end rate with one runner), next to the single-API figures of `throughput`."""

from __future__ import annotations

from typing import Any

from bench.infra import Context
from bench.seed import log_action
from bench.throughput import concurrent, drain_backlog


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    n = ctx.sizes.scaleout_n
    runners = []
    for count in ctx.sizes.scaleout_runners:
        await system.reset()
        drained = await drain_backlog(ctx, system, n, runners=count)
        drained.pop("fill", None)
        runners.append(drained)
    await system.reset()
    await system.replace_runner(start=True)
    two_fill: dict[str, Any] = {"fill": {}}
    async with system.extra_api({}):
        two_e2e = await concurrent(ctx, system, "2api", log_action(), n)
        await system.reset()
        if ctx.sizes.scaleout_api_fill:
            two_fill = await drain_backlog(ctx, system, n)
            await system.reset()
    one = ctx.results.get("throughput", {})
    return {
        "partitions": int(system.stack.base_env()["KAFKA_TOPIC_PARTITIONS"]),
        "runners": runners,
        "apis": {
            "one_api_e2e_per_s": one.get("log", {}).get("e2e_per_s"),
            "one_api_triggers_per_s": one.get("api_capacity", {}).get("triggers_per_s"),
            "two_api_e2e": two_e2e, "two_api_fill": two_fill.pop("fill"),
            "two_api_drain": two_fill,
        },
    }
