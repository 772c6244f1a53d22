"""Trigger -> execution finished at a fixed rate (open loop, wrk), one manual workflow each."""

from __future__ import annotations

import uuid
from typing import Any

from bench.config import default
from bench.drive import Load, triggers
from bench.infra import Context, System
from bench.probes import percentiles
from bench.seed import executions_of, insert, log_action, manual_doc, utcnow
from bench.throughput import answer_ms, executions_total, ids_of, wait_done

MIN_CONNECTIONS, MAX_CONNECTIONS = 32, 512


def connections_for(rate: float) -> int:
    """Connections for an open-loop rate (one request at a time on each): room for the
    API's in-flight bound twice over, plus 0.2 s of the rate for the quick answers (503s),
    so that a slow answer rarely holds back the next send."""
    bound = int(default("API_MAX_IN_FLIGHT")) or 64
    return int(max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, 2 * bound + rate * 0.2)))


async def run(ctx: Context) -> dict[str, Any]:
    system = await ctx.system()
    await system.reset()
    async with system.default_api() as api:
        result = await at_rate(ctx, system, ctx.sizes.latency_rate, ctx.sizes.latency_s,
                               apis=[api])
    await system.reset()
    return result


async def at_rate(ctx: Context, system: System, rate: float, duration_s: float,
                  apis: list[str] | None = None) -> dict[str, Any]:
    """Trigger rate * duration workflows, request i at start + i / rate; measure each
    answered-200 trigger's time to its execution's finished_at."""
    n = max(1, int(rate * duration_s))
    prefix = f"lat-{uuid.uuid4().hex[:6]}"
    now = utcnow()
    await insert(system.db, (manual_doc(f"{prefix}-{i:06d}", log_action(), now)
                             for i in range(n)))
    done_before = await executions_total(ctx, system)
    measure = ctx.measure(system.processes())
    load = await triggers(apis or system.apis, prefix, n, concurrency=connections_for(rate),
                          rate=rate)
    accepted = load.accepted
    await wait_done(ctx, system, done_before, len(accepted))
    execs = await executions_of(system.db, ids_of(prefix, n))
    cpu = measure.done(len(accepted), load)
    return {"rate": rate, "seconds": duration_s, **analyse(load, execs), **cpu}


def analyse(load: Load, execs: list[dict[str, Any]]) -> dict[str, Any]:
    finished = {e["workflow_id"]: e["finished_at"].timestamp()
                for e in execs if e["finished_at"] and e["status"] == "ok"}
    accepted = load.accepted
    latencies = [(finished[s.workflow_id] - s.sent_at) * 1000
                 for s in accepted if s.workflow_id in finished]
    sent = [s for s in load.sent if s.status >= 0]
    span = max(s.sent_at for s in sent) - min(s.sent_at for s in sent) if sent else 0.0
    summary = percentiles(latencies)
    accepted_ids = {s.workflow_id for s in accepted}
    executed_ids = {e["workflow_id"] for e in execs}
    return {
        "sent": len(load.sent), "answered": len(sent), "accepted": len(accepted),
        "statuses": load.statuses(), "generator": load.generator,
        "generator_notes": load.notes, "finished": len(latencies),
        "lost": len(accepted_ids - set(finished)),
        "executed_not_accepted": len(executed_ids - accepted_ids),
        "shed_without_retry_after": sum(1 for s in load.sent
                                        if s.status == 503 and not s.retry_after),
        "achieved_rate": round((len(sent) - 1) / span, 1) if span > 0 else None,
        "p50_ms": summary["p50"], "p95_ms": summary["p95"], "p99_ms": summary["p99"],
        "max_ms": summary["max"], "mean_ms": summary["mean"],
        "trigger_answer_ms": answer_ms(load),
        "samples_ms": [round(x, 2) for x in latencies],
        "sent_offsets_s": [round(s.sent_at - load.sent[0].sent_at, 3) for s in accepted
                           if s.workflow_id in finished],
    }
