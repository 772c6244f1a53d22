"""Scheduler scale: N periodic workflows all due at the same instant, no runner consuming.

Per N, a fresh scheduler process (so its peak RSS is its own) is started on an empty
database; the N workflows are inserted with one `next_run` far enough ahead that the
scheduler has ticked since (it then sleeps until exactly that instant); we time from that
instant until `scheduler_dispatches_total{kind="due"}` reaches N, sampling the RSS. Each N is
bounded in time (`scale_cap_s` after the due instant; past it, the time for all N is
extrapolated from the rate so far).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

from bench.config import SCHEDULER_INTERVAL_S
from bench.infra import Context
from bench.probes import RssSampler, Window, mb, metric, scrape, wait_for
from bench.profile import sampled
from bench.seed import insert, periodic_doc, utcnow

INTERVAL_S = 3600           # after its run, each workflow's next slot is an hour away
MARGIN_S = 1.0
FALLBACK_INSERT_PER_S = 3000.0
# How often the dispatch counter is scraped: each scrape of /metrics costs the scheduler
# 1-3 ms of CPU, so polling at 20 ms took a quarter of its CPU from the dispatch it timed.
# The times read are late by up to this much.
POLL_S = 0.1


async def run(ctx: Context) -> dict[str, Any]:
    insert_rate = FALLBACK_INSERT_PER_S
    rows = []
    for n in ctx.sizes.scale_sizes:
        row = await one_size(ctx, n, insert_rate)
        insert_rate = max(500.0, n / max(row["insert_s"], 1e-3))
        rows.append(row)
    by_n = {row["n"]: row for row in rows}
    peaks = [row["rss_peak_mb"] for row in rows]
    ten_k = by_n.get(10_000) or rows[-1]
    return {
        "sizes": rows,
        "dispatch_s_10k": ten_k["dispatch_s"] if 10_000 in by_n else None,
        "rss_growth_mb": round(peaks[-1] - peaks[0], 1) if len(peaks) > 1 else None,
    }


async def one_size(ctx: Context, n: int, insert_rate: float) -> dict[str, Any]:
    stack = ctx.new_stack("scale")
    scheduler = await asyncio.to_thread(stack.add, "scheduler_svc")
    db = ctx.mongo[stack.base_env()["DATABASE_NAME"]]
    sampler = RssSampler(scheduler.proc.pid, interval_s=0.02).start()  # type: ignore[union-attr]
    window = Window()
    try:
        planned_insert_s = 2.5 * n / insert_rate + 1.0
        lead_s = planned_insert_s + SCHEDULER_INTERVAL_S + MARGIN_S
        due = utcnow() + timedelta(seconds=lead_s)
        prefix = f"due-{uuid.uuid4().hex[:6]}"
        created = due - timedelta(hours=1)
        insert_s = await insert(db, (
            periodic_doc(f"{prefix}-{i:06d}", interval_s=INTERVAL_S, created_at=created,
                         next_run=due)
            for i in range(n)
        ))
        inserted_at = time.time()
        due_at = due.timestamp()
        progress: dict[str, float] = {"done": 0.0, "first": 0.0}

        async def all_dispatched() -> bool:
            done = metric(await scrape(ctx.http, scheduler.url), "scheduler_dispatches_total",
                          kind="due")
            if done and not progress["first"]:
                progress["first"] = time.time()
            progress["done"] = done
            return done >= n

        measure = ctx.measure({"scheduler": scheduler})
        try:
            async with sampled({"scheduler": scheduler.proc.pid},  # type: ignore[union-attr]
                               ctx.profile_dir, f"scale-{n}"):
                finished = await wait_for(
                    all_dispatched, timeout_s=due_at - time.time() + ctx.sizes.scale_cap_s,
                    interval_s=POLL_S, what=f"{n} dispatches",
                )
        except TimeoutError:
            finished = time.time()
        cpu = measure.done(int(progress["done"]))  # read while the scheduler still runs
        scheduled = await db["workflows"].count_documents({"status": "scheduled"})
    finally:
        sampler.stop()
        await asyncio.to_thread(stack.stop)
    idle = sampler.between(due_at - 2.0, due_at)
    busy = sampler.between(due_at, finished)
    done = int(progress["done"])
    rate = done / max(1e-3, finished - due_at)
    return {
        "n": n, "insert_s": round(insert_s, 2),
        "known_before_due": inserted_at + SCHEDULER_INTERVAL_S < due_at,
        "first_dispatch_s": round(progress["first"] - due_at, 3) if progress["first"] else None,
        "complete": done >= n, "dispatched": done,
        # Past the cap, the time all N would take at the rate seen so far.
        "dispatch_s": round(finished - due_at if done >= n else n / max(rate, 1e-3), 3),
        "dispatch_per_s": round(rate, 1),
        "scheduled_in_db": scheduled,
        "rss_idle_mb": mb(statistics.median(idle)) if idle else None,
        "rss_peak_mb": mb(max(busy)) if busy else None,
        "cpu_ms_per": cpu["cpu_ms_per"], "machine": window.close(),
    }
