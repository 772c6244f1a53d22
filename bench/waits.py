"""Durable delays at scale: N manual workflows of one `delay` action, triggered in a burst
(wrk, 32 connections), all parked in MongoDB at once; the runner's RSS while they wait, and
how late each wakes.

Everything is read back from the execution records: the delay's run begins when the runner
parks it (`started_at`) and ends when a runner continues it after the scheduler woke it
(`finished_at`); its due time is `started_at + duration`. Lateness = finished_at - due.
"Waiting at once" is the sweep over those intervals; the plateau is the span in which the
most were waiting. The runner is warmed up with a few `log` executions first, so its RSS
baseline is that of a runner that has worked, and their rate sets the delay: long enough
that all N are parked before the first wakes (`delay_for`).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import statistics
import time
import uuid
from datetime import datetime
from typing import Any

from bench.config import TRIGGER_CONCURRENCY
from bench.drive import triggers
from bench.infra import Context, System
from bench.probes import RssSampler, mb, metric, percentiles, scrape, wait_for
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

KEY = "wait"          # the delay action's name (bench.seed.delay_action)
TIMELINE_POINTS = 400  # RSS / waiting samples kept for the plot
RSS_INTERVAL_S = 0.1
WAKE_POLL_S = 0.05
PARK_MARGIN = 2.0      # delay >= this x the estimated time to park them all
NEAR_PEAK = 0.9        # "while they wait": RSS samples while >= 90 % of the peak waited


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    await system.reset()
    warm_per_s = await _warm_up(ctx, system, ctx.sizes.waits_warmup_n)
    n = ctx.sizes.waits_n
    delay_s = delay_for(n, ctx.sizes.waits_delay_s, warm_per_s)
    prefix = f"wait-{uuid.uuid4().hex[:6]}"
    now = utcnow()
    action = delay_action(f"{delay_s}s")
    await insert(system.db, (manual_doc(f"{prefix}-{i:06d}", action, now) for i in range(n)))
    ok_before = await _ok_total(ctx, system)
    sampler = RssSampler(system.runner.proc.pid, interval_s=RSS_INTERVAL_S).start()  # type: ignore[union-attr]
    wakes: list[tuple[float, float]] = []
    polling = asyncio.create_task(_poll_wakes(ctx, system, wakes))
    measure = ctx.measure(system.processes())
    try:
        load = await triggers(system.apis, prefix, n, concurrency=TRIGGER_CONCURRENCY)
        accepted = len(load.accepted)

        async def all_woken() -> bool:
            return await _ok_total(ctx, system) - ok_before >= accepted

        await wait_for(all_woken, timeout_s=delay_s + 60 + n / 20, interval_s=0.25,
                       what="delayed executions to finish")

        async def released() -> bool:
            return await count_unreleased(system.db) == 0

        await wait_for(released, timeout_s=60, interval_s=0.25, what="workflows released")
    finally:
        sampler.stop()
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    cpu = measure.done(accepted, load)
    runs = await _delay_runs(system, ids_of(prefix, n))
    await system.reset()
    return {
        "n": n, "delay_s": delay_s, "delay_min_s": ctx.sizes.waits_delay_s,
        "warm_up_per_s": warm_per_s, "accepted": accepted, "statuses": load.statuses(),
        "generator": load.generator, "generator_notes": load.notes,
        "trigger_s": round(load.ended - load.started, 2),
        **analyse(runs, delay_s, sampler.samples, load.started),
        "scheduler_wake_lag_ms": wake_lag_ms(runs, delay_s, wakes), **cpu,
    }


async def _poll_wakes(ctx: Context, system: System, out: list[tuple[float, float]]) -> None:
    """(time, scheduler_dispatches_total{kind="wake"}) every WAKE_POLL_S, until cancelled."""
    while True:
        samples = await scrape(ctx.http, system.scheduler.url)
        out.append((time.time(), metric(samples, "scheduler_dispatches_total", kind="wake")))
        await asyncio.sleep(WAKE_POLL_S)  # pacing of the sampling, not a synchronisation


def wake_lag_ms(runs: list[tuple[float, float]], delay_s: float,
                wakes: list[tuple[float, float]]) -> dict[str, Any]:
    """The scheduler's share of the lateness: when its wake counter first reached k, minus
    the k-th due time (it wakes in due order); resolution WAKE_POLL_S plus a scrape."""
    if not wakes or not runs:
        return percentiles([])
    base = wakes[0][1]
    dues = sorted(start + delay_s for start, _ in runs)
    times = [t for t, _ in wakes]
    counts = [c - base for _, c in wakes]
    lags = []
    for k, due in enumerate(dues, start=1):
        i = bisect.bisect_left(counts, k)
        if i < len(times):
            lags.append((times[i] - due) * 1000)
    return percentiles(lags)


def delay_for(n: int, minimum_s: int, warm_per_s: float | None) -> int:
    """The delay: `minimum_s`, or longer when parking n executions at the warm-up's rate
    would take more than half of it (then the first would wake before the last parked,
    and the wakes would queue behind the parks: the runner's backlog, not lateness)."""
    if not warm_per_s:
        return minimum_s
    return max(minimum_s, math.ceil(PARK_MARGIN * n / warm_per_s))


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
                found.append((_epoch(runs[-1]["started_at"]), _epoch(runs[-1]["finished_at"])))
    return found


def _epoch(value: datetime) -> float:
    return value.timestamp()


def analyse(runs: list[tuple[float, float]], delay_s: float,
            rss: list[tuple[float, int]], burst_at: float) -> dict[str, Any]:
    """Lateness, the most waiting at once, and the runner's RSS before, while at least
    NEAR_PEAK of that many waited, and after."""
    samples = [(end - (start + delay_s)) * 1000 for start, end in runs]
    late = percentiles(samples)
    peak, plateau = peak_waiting(runs)
    counts = waiting_at(runs, [t for t, _ in rss])
    before = [b for t, b in rss if t < burst_at]
    during = [b for (_, b), c in zip(rss, counts, strict=True) if peak and c >= NEAR_PEAK * peak]
    after = [b for t, b in rss if runs and t > max(end for _, end in runs)]
    every = [b for _, b in rss]
    ends = sorted(end for _, end in runs)
    result: dict[str, Any] = {
        "finished": len(runs), "peak_waiting": peak, "all_waited_at_once": peak == len(runs),
        "plateau_s": round(plateau[1] - plateau[0], 2) if plateau else None,
        "near_peak_s": round(len(during) * RSS_INTERVAL_S, 1),
        "park_span_s": round(max(s for s, _ in runs) - min(s for s, _ in runs), 2)
        if runs else None,
        "wake_span_s": round(ends[-1] - ends[0], 2) if runs else None,
        "lateness_ms": late, "p50_ms": late["p50"], "p99_ms": late["p99"],
        "max_ms": late["max"],
        "rss_before_mb": _median_mb(before), "rss_waiting_mb": _median_mb(during),
        "rss_after_mb": _median_mb(after), "rss_peak_mb": mb(max(every)) if every else None,
    }
    if result["rss_before_mb"] is not None and result["rss_waiting_mb"] is not None:
        result["rss_growth_mb"] = round(result["rss_waiting_mb"] - result["rss_before_mb"], 1)
    if during:
        result["rss_plateau_drift_mb"] = round((during[-1] - during[0]) / (1024 * 1024), 1)
    step = max(1, len(rss) // TIMELINE_POINTS)
    result["timeline"] = {
        "t_s": [round(t - burst_at, 2) for t, _ in rss[::step]],
        "rss_mb": [mb(b) or 0.0 for _, b in rss[::step]], "waiting": counts[::step],
    }
    result["lateness_samples_ms"] = [round(v, 1) for v in samples]
    return result


def peak_waiting(runs: list[tuple[float, float]]) -> tuple[int, tuple[float, float] | None]:
    """The most delays in progress at once, and the first span during which they were."""
    events = sorted([(s, 1) for s, _ in runs] + [(e, -1) for _, e in runs],
                    key=lambda ev: (ev[0], -ev[1]))
    waiting = peak = 0
    span: tuple[float, float] | None = None
    for i, (t, step) in enumerate(events):
        waiting += step
        if waiting > peak:
            peak = waiting
            following = events[i + 1][0] if i + 1 < len(events) else t
            span = (t, following)
    return peak, span


def waiting_at(runs: list[tuple[float, float]], times: list[float]) -> list[int]:
    """How many delays were in progress at each of these (ascending) times."""
    starts, ends = sorted(s for s, _ in runs), sorted(e for _, e in runs)
    return [bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in times]


def _median_mb(values: list[int]) -> float | None:
    return mb(statistics.median(values)) if values else None
