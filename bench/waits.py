"""Durable delays at scale: N manual workflows of one `delay` action, all parked in MongoDB at
once; the runner's RSS while they wait, and how late each wakes. Two phases:

- paced (the target's figure): triggered at `WAITS_PACED_SHARE` of the rate the runner
  sustains (the warm-up's), so the delays fall due at that rate too;
- burst: triggered as fast as answered (wrk, 32 connections), so they fall due at the rate
  the runner parked them, its full capacity: waking them is as much work as parking them, and
  the lateness is the queue a saturated runner builds (a stress figure, beside the target).

Everything is read back from the execution records (`bench.waits_analysis`): the delay's run
begins when the runner parks it (`started_at`) and ends when a runner continues it after the
scheduler woke it (`finished_at`); its due time is `started_at + duration`. The runner is
warmed up with a few `log` executions first, so its RSS baseline is that of a runner that has
worked, and their rate sets the pace and the delay.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from bench.config import TRIGGER_CONCURRENCY
from bench.drive import triggers
from bench.infra import Context, System
from bench.probes import RssSampler, metric, scrape, wait_for
from bench.profile import sampled
from bench.seed import (
    count_unreleased,
    delay_action,
    executions_of,
    insert,
    log_action,
    manual_doc,
    utcnow,
)
from bench.throughput import executions_total, ids_of, rates, seed, wait_done
from bench.waits_analysis import RSS_INTERVAL_S, analyse, delay_for, wake_lag_ms

KEY = "wait"             # the delay action's name (bench.seed.delay_action)
WAKE_POLL_S = 0.05
WAITS_PACED_SHARE = 0.5  # the paced phase's trigger rate, as a share of the warm-up's
PACED_MARGIN = 1.25      # its delay >= this x the time triggering them all takes


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    await system.reset()
    warm_per_s = await _warm_up(ctx, system, ctx.sizes.waits_warmup_n)
    n = ctx.sizes.waits_n
    rate = round(WAITS_PACED_SHARE * warm_per_s, 1) if warm_per_s else 0.0
    paced = await _phase(ctx, system, n, rate=rate,
                         delay_s=delay_for(n, ctx.sizes.waits_delay_s, rate, PACED_MARGIN))
    burst = await _phase(ctx, system, n, rate=0.0,
                         delay_s=delay_for(n, ctx.sizes.waits_delay_s, warm_per_s))
    await system.reset()
    return {**paced, "warm_up_per_s": warm_per_s, "delay_min_s": ctx.sizes.waits_delay_s,
            "paced_share": WAITS_PACED_SHARE, "burst": burst}


async def _phase(ctx: Context, system: System, n: int, *, rate: float,
                 delay_s: int) -> dict[str, Any]:
    """Trigger n delayed workflows (at `rate`/s, or as fast as answered when 0), wait until
    all woke and were released; what `analyse` finds, the scheduler's lag and the CPU."""
    prefix = f"wait-{uuid.uuid4().hex[:6]}"
    await insert(system.db, (manual_doc(f"{prefix}-{i:06d}", delay_action(f"{delay_s}s"),
                                        utcnow()) for i in range(n)))
    ok_before = await _ok_total(ctx, system)
    sampler = RssSampler(system.runner.proc.pid, interval_s=RSS_INTERVAL_S).start()  # type: ignore[union-attr]
    wakes: list[tuple[float, float]] = []
    polling = asyncio.create_task(_poll_wakes(ctx, system, wakes))
    measure = ctx.measure(system.processes())
    try:
        load = await triggers(system.apis, prefix, n, concurrency=TRIGGER_CONCURRENCY,
                              rate=rate)
        accepted = len(load.accepted)
        await _until_woken(ctx, system, ok_before + accepted,
                           first_due_at=load.started + delay_s, n=n)
    finally:
        sampler.stop()
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    cpu = measure.done(accepted, load)
    runs = await _delay_runs(system, ids_of(prefix, n))
    await system.reset()
    return {
        "mode": "paced" if rate else "burst", "rate": rate or None, "n": n,
        "delay_s": delay_s, "accepted": accepted, "statuses": load.statuses(),
        "generator": load.generator, "generator_notes": load.notes,
        "trigger_s": round(load.ended - load.started, 2),
        **analyse(runs, delay_s, sampler.samples, load.started),
        "scheduler_wake_lag_ms": wake_lag_ms(runs, delay_s, wakes), **cpu,
    }


async def _until_woken(ctx: Context, system: System, ok_total: float, *,
                       first_due_at: float, n: int) -> None:
    """Wait (profiling the scheduler and the runner from the first due time, so that the
    profile covers the wakes) until `ok_total` executions are ok and all are released."""
    async def all_woken() -> bool:
        return await _ok_total(ctx, system) >= ok_total

    async def released() -> bool:
        return await count_unreleased(system.db) == 0

    # Pacing to a wall-clock time (the first due time), not a synchronisation.
    await asyncio.sleep(max(0.0, first_due_at - time.time()))
    async with sampled(system.pids("scheduler", "runner"), ctx.profile_dir, "wakes"):
        await wait_for(all_woken, timeout_s=60 + n / 20, interval_s=0.25,
                       what="delayed executions to finish")
    await wait_for(released, timeout_s=60, interval_s=0.25, what="workflows released")


async def _poll_wakes(ctx: Context, system: System, out: list[tuple[float, float]]) -> None:
    """(time, scheduler_dispatches_total{kind="wake"}) every WAKE_POLL_S, until cancelled."""
    while True:
        samples = await scrape(ctx.http, system.scheduler.url)
        out.append((time.time(), metric(samples, "scheduler_dispatches_total", kind="wake")))
        await asyncio.sleep(WAKE_POLL_S)  # pacing of the sampling, not a synchronisation


async def _warm_up(ctx: Context, system: System, n: int) -> float | None:
    """`log` executions through API and runner; their executions/s (None: none ran)."""
    if n <= 0:
        return None
    prefix = await seed(system, "warm", log_action(), n)
    before = await executions_total(ctx, system)
    load = await triggers(system.apis, prefix, n, concurrency=TRIGGER_CONCURRENCY)
    await wait_done(ctx, system, before, len(load.accepted))
    execs = await executions_of(system.db, ids_of(prefix, n))
    await system.reset()
    rate = rates(execs, len(load.accepted), load.started).get("e2e_per_s")
    return float(rate) if rate else None


async def _ok_total(ctx: Context, system: System) -> float:
    return metric(await scrape(ctx.http, system.runner.url), "executions_total", status="ok")


async def _delay_runs(system: System, ids: list[str]) -> list[tuple[float, float]]:
    """(started_at, finished_at) of each ok execution's delay run, as epoch seconds."""
    found: list[tuple[float, float]] = []
    projection = {"_id": 0, "status": 1, f"actions.{KEY}.runs": 1}
    for i in range(0, len(ids), 5000):
        cursor = system.db["executions"].find(
            {"workflow_id": {"$in": ids[i:i + 5000]}, "status": "ok"}, projection)
        async for doc in cursor:
            runs = doc.get("actions", {}).get(KEY, {}).get("runs") or []
            if runs and runs[-1].get("started_at") and runs[-1].get("finished_at"):
                found.append((runs[-1]["started_at"].timestamp(),
                              runs[-1]["finished_at"].timestamp()))
    return found
