"""Trigger -> execution finished at a fixed rate (open loop), one manual workflow each."""

from __future__ import annotations

import uuid
from typing import Any

from bench.infra import Context
from bench.probes import metric, percentiles, scrape
from bench.seed import executions_of, insert, log_action, manual_doc, trigger_at_rate, utcnow
from bench.throughput import wait_done


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    await system.reset()
    rate, duration = ctx.sizes.latency_rate, ctx.sizes.latency_s
    n = int(rate * duration)
    prefix = f"lat-{uuid.uuid4().hex[:6]}"
    ids = [f"{prefix}-{i:06d}" for i in range(n)]
    now = utcnow()
    await insert(system.db, (manual_doc(i, log_action(), now) for i in ids))
    done_before = metric(await scrape(ctx.http, system.runner.url), "executions_total")
    sent = await trigger_at_rate(system.api, ids, rate=rate)
    accepted = [s for s in sent if s.status == 200]
    await wait_done(ctx, system, ids, done_before, len(accepted))
    finished = {
        e["workflow_id"]: e["finished_at"].timestamp()
        for e in await executions_of(system.db, ids) if e["finished_at"]
    }
    latencies = [
        (finished[s.workflow_id] - s.sent_at) * 1000 for s in accepted if s.workflow_id in finished
    ]
    span = max(s.sent_at for s in sent) - min(s.sent_at for s in sent)
    summary = percentiles(latencies)
    return {
        "rate": rate, "seconds": duration, "sent": n, "accepted": len(accepted),
        "finished": len(latencies),
        "achieved_rate": round((n - 1) / span, 1) if span > 0 else None,
        "p50_ms": summary["p50"], "p95_ms": summary["p95"], "p99_ms": summary["p99"],
        "max_ms": summary["max"], "mean_ms": summary["mean"],
        "trigger_answer_ms": percentiles([s.answered_s * 1000 for s in sent]),
        "samples_ms": [round(x, 2) for x in latencies],
        "sent_offsets_s": [round(s.sent_at - sent[0].sent_at, 3) for s in accepted
                           if s.workflow_id in finished],
    }
