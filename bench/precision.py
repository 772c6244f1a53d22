"""Periodic timing precision: start lateness against the grid, runs counted vs expected."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from bench.config import SCHEDULER_INTERVAL_S
from bench.infra import Context
from bench.probes import Window, percentiles
from bench.seed import executions_of, insert, periodic_doc, utcnow
from shared.domain.timing import next_grid_slot


async def run(ctx: Context) -> dict[str, Any]:
    """W workflows, grids staggered evenly across one interval, first slots after the
    scheduler's longest sleep (so it knows them); measured over [start, start + duration)."""
    system = await ctx.system()
    await system.reset()
    window = Window()
    count, interval_s = ctx.sizes.precision_workflows, ctx.sizes.precision_interval_s
    interval = timedelta(seconds=interval_s)
    now = utcnow()
    window_start = now + timedelta(seconds=SCHEDULER_INTERVAL_S + 1.5)
    window_end = window_start + timedelta(seconds=ctx.sizes.precision_s)
    prefix = f"per-{uuid.uuid4().hex[:6]}"
    grids: dict[str, tuple[datetime, datetime]] = {}
    for i in range(count):
        created = now - interval * (i / count) - timedelta(seconds=30)
        grids[f"{prefix}-{i:03d}"] = (created, next_grid_slot(
            created, interval_s * 1000, window_start
        ))
    await insert(system.db, (
        periodic_doc(w, interval_s=interval_s, created_at=c, next_run=n)
        for w, (c, n) in grids.items()
    ))
    stored = {
        d["workflow_id"]: (d["created_at"], d["trigger"]["next_run"])
        async for d in system.db["workflows"].find({"workflow_id": {"$in": list(grids)}})
    }
    settle_s = (window_end - utcnow()).total_seconds() + interval_s
    await asyncio.sleep(max(0.0, settle_s))  # pacing: the runs happen on their own clock
    execs = await executions_of(system.db, grids)
    await system.reset()
    return {**_analyse(execs, stored, interval, window_end), "machine": window.close()}


def _analyse(
    execs: list[dict[str, Any]], grids: dict[str, tuple[datetime, datetime]],
    interval: timedelta, window_end: datetime,
) -> dict[str, Any]:
    counted: dict[str, int] = defaultdict(int)
    lateness: list[tuple[float, float]] = []
    for e in execs:
        created, first = grids[e["workflow_id"]]
        started = e["created_at"]
        slot = created + interval * ((started - created) // interval)
        if not first <= slot < window_end:
            continue
        lateness.append((started.timestamp(), (started - slot).total_seconds() * 1000))
        counted[e["workflow_id"]] += 1
    diffs = []
    for workflow_id, (_, first) in grids.items():
        expected = -(-(window_end - first) // interval)  # slots in [first, window_end)
        diffs.append(counted[workflow_id] - expected)
    summary = percentiles([late for _, late in lateness])
    t0 = min((t for t, _ in lateness), default=time.time())
    return {
        "workflows": len(grids), "interval_s": interval.total_seconds(),
        "runs_counted": sum(counted.values()), "runs_expected": sum(counted.values()) - sum(diffs),
        "worst_run_diff": max((abs(d) for d in diffs), default=0),
        "run_diff_range": [min(diffs, default=0), max(diffs, default=0)],
        "p50_ms": summary["p50"], "p95_ms": summary["p95"], "p99_ms": summary["p99"],
        "max_ms": summary["max"], "mean_ms": summary["mean"],
        "samples": [[round(t - t0, 3), round(late, 2)] for t, late in sorted(lateness)],
    }
