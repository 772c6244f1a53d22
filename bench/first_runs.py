"""First runs: periodic, cron and once workflows created over the API just before their
first slot, so that only the change-stream wake can start them on time."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bench.first_runs_analysis import KINDS, analyse
from bench.infra import Context, System
from bench.probes import Window, percentiles
from bench.seed import executions_of, insert, periodic_doc, utcnow

LEAD_S = 4.0          # from the start to the first cron slot, at least: room to create them
CRON_BEFORE_S = (3.0, 0.3)   # cron workflows are created this long before their slot
ONCE_AFTER_MS = (300, 2500)  # a once workflow's `after`
PERIODIC_INTERVALS_S = (2, 3)
TAIL_S = 2.0          # the window ends this long after the last cron slot
SETTLE_S = 3.0        # then the last runs are given this long to be stored
BURST_LEAD_S, BURST_INTERVAL_S = 3.0, 3600
POLLING = {"SCHEDULER_CHANGE_STREAM": "false"}


@dataclass(frozen=True)
class Creation:
    at: datetime       # when the bench sends the POST
    kind: str
    body: dict[str, Any]


async def run(ctx: Context) -> dict[str, Any]:
    """The default stack; then (full run) one whose scheduler only polls, for comparison."""
    system = await ctx.system()
    result = await measure(ctx, system)
    result["bursts"] = [await burst(system, n) for n in ctx.sizes.first_runs_bursts]
    if ctx.sizes.first_runs_polling_too:
        stack = ctx.new_stack("poll", env=POLLING)
        await asyncio.to_thread(stack.start)
        try:
            polling = System(stack, ctx.mongo[stack.base_env()["DATABASE_NAME"]])
            result["polling"] = await measure(ctx, polling)
        finally:
            await asyncio.to_thread(stack.stop)
    return result


async def measure(ctx: Context, system: System) -> dict[str, Any]:
    """Create the planned workflows at their instants, wait out the window, analyse."""
    await system.reset()
    window = Window()
    start = utcnow()
    prefix = f"first-{uuid.uuid4().hex[:6]}"
    creations, cron_slots, window_end = plan(ctx, prefix, start)
    statuses = await create_all(ctx, system.api, creations)
    await asyncio.sleep(max(0.0, (window_end - utcnow()).total_seconds() + SETTLE_S))  # pacing
    ids = [c.body["workflowId"] for c in creations]
    read_at = utcnow()
    workflows = [d async for d in system.db["workflows"].find(
        {"workflow_id": {"$in": ids}}, {"_id": 0, "workflow_id": 1, "created_at": 1,
                                         "trigger": 1})]
    execs = [d async for d in system.db["executions"].find(
        {"workflow_id": {"$in": ids}}, {"_id": 0, "workflow_id": 1, "created_at": 1})]
    await system.reset()
    return {
        **analyse(workflows, execs, window_end, read_at), "create_statuses": dict(statuses),
        "cron_slots": [s.isoformat() for s in cron_slots],
        "window_s": round((window_end - start).total_seconds(), 1), "machine": window.close(),
    }


async def burst(system: System, count: int) -> dict[str, Any]:
    """`count` periodic workflows whose slot is the same instant, known to the scheduler
    seconds before it (the stored ones of a busy minute boundary): how late they start."""
    await system.reset()
    window = Window()
    slot = utcnow() + timedelta(seconds=BURST_LEAD_S)
    ids = [f"burst-{uuid.uuid4().hex[:6]}-{i:04d}" for i in range(count)]
    await insert(system.db, (periodic_doc(w, interval_s=BURST_INTERVAL_S, next_run=slot,
                                          created_at=slot - timedelta(seconds=BURST_INTERVAL_S))
                             for w in ids))
    await asyncio.sleep(BURST_LEAD_S + SETTLE_S)  # pacing: the runs happen on their own clock
    late_ms = [(e["created_at"] - slot).total_seconds() * 1000
               for e in await executions_of(system.db, ids)]
    await system.reset()
    return {"workflows": count, "runs": len(late_ms), "lateness_ms": percentiles(late_ms),
            "min_ms": round(min(late_ms), 1) if late_ms else None, "machine": window.close()}


def plan(ctx: Context, prefix: str, start: datetime
         ) -> tuple[list[Creation], list[datetime], datetime]:
    """What to create when: cron workflows just before each of the next minute boundaries,
    periodic and once workflows spread over the whole window; the slots and the window end."""
    first = _next_minute(start + timedelta(seconds=LEAD_S))
    cron_slots = [first + timedelta(minutes=k) for k in range(ctx.sizes.first_runs_cron_slots)]
    window_end = cron_slots[-1] + timedelta(seconds=TAIL_S)
    sizes = ctx.sizes
    creations = [
        *_spread(prefix, "periodic", sizes.first_runs_periodic, start, window_end, 5.0),
        *_spread(prefix, "once", sizes.first_runs_once, start, window_end, 3.0),
    ]
    per_slot = max(1, sizes.first_runs_cron // len(cron_slots))
    early_s, late_s = CRON_BEFORE_S
    for k, slot in enumerate(cron_slots):
        for i in range(per_slot):
            before_s = early_s - (early_s - late_s) * i / max(1, per_slot - 1)
            creations.append(Creation(slot - timedelta(seconds=before_s), "cron", _body(
                f"{prefix}-cron-{k}{i:03d}", {"type": "cron", "cron": "* * * * *"})))
    return sorted(creations, key=lambda c: c.at), cron_slots, window_end


def _spread(prefix: str, kind: str, count: int, start: datetime, window_end: datetime,
            end_margin_s: float) -> list[Creation]:
    """`count` creations evenly over [start + 0.5 s, window_end - end_margin_s]."""
    span_s = max(0.0, (window_end - start).total_seconds() - end_margin_s - 0.5)
    low_ms, high_ms = ONCE_AFTER_MS
    made = []
    for i in range(count):
        at = start + timedelta(seconds=0.5 + span_s * i / max(1, count - 1))
        if kind == "periodic":
            trigger = {"type": "periodic",
                       "interval": f"{PERIODIC_INTERVALS_S[i % len(PERIODIC_INTERVALS_S)]}s"}
        else:
            trigger = {"type": "once",
                       "after": f"{low_ms + (i * 397) % (high_ms - low_ms)}ms"}
        made.append(Creation(at, kind, _body(f"{prefix}-{kind}-{i:03d}", trigger)))
    return made


def _body(workflow_id: str, trigger: dict[str, Any]) -> dict[str, Any]:
    return {"workflowId": workflow_id, "trigger": trigger,
            "actions": [{"type": "log", "message": "first run"}]}


def _next_minute(at: datetime) -> datetime:
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)


async def create_all(ctx: Context, api: str, creations: list[Creation]) -> Counter[str]:
    """POST each definition at its instant (without waiting for the previous answer)."""
    t0_wall, t0_mono = utcnow(), time.monotonic()

    async def create(creation: Creation) -> str:
        response = await ctx.http.post(f"{api}/workflows", json=creation.body, timeout=30)
        return f"{creation.kind} {response.status_code}"

    sent = []
    for creation in creations:
        due_s = (creation.at - t0_wall).total_seconds() - (time.monotonic() - t0_mono)
        if due_s > 0:
            await asyncio.sleep(due_s)  # pacing: each definition is created at its instant
        sent.append(asyncio.create_task(create(creation)))
    statuses = Counter(await asyncio.gather(*sent))
    if any(not status.endswith(" 201") for status in statuses):
        raise RuntimeError(f"some definitions were refused: {dict(statuses)}")
    assert set(KINDS) >= {status.split()[0] for status in statuses}
    return statuses
