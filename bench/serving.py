"""How the API is served: one workflows_svc process's capacity (triggers/s with no runner
consuming, wrk at 32 connections) and CPU per trigger for each event loop + HTTP parser
(uvloop / asyncio, httptools / h11), the runner's drain rate on uvloop vs asyncio, and what
a faster JSON library would save per response.

Variants are started through bench/launch.py (the services' own entry points with the loop
and parser chosen); the product's default is what shared/web/serve.py names (uvloop +
httptools when installed, as uvicorn's "auto" picks).
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import subprocess
import timeit
import uuid
from typing import Any

from bench.config import TRIGGER_CONCURRENCY
from bench.drive import wrk_binary
from bench.infra import Context, System
from bench.probes import CpuMeter
from bench.seed import insert, log_action, manual_doc, utcnow
from bench.throughput import drain_backlog, fill
from shared.adapters.mappers import WORKFLOW_HANDLER
from shared.web.serve import uvicorn_options
from tests.harness import ServiceProcess


async def run(ctx: Context) -> dict[str, Any]:
    api = await api_variants(ctx)
    system = await ctx.system()
    rounds: dict[str, list[dict[str, Any]]] = {loop: [] for loop in ctx.sizes.runner_loops}
    for r in range(ctx.sizes.runner_loop_rounds):
        for loop in _rotated(ctx.sizes.runner_loops, r):
            await system.reset()
            drained = await drain_backlog(
                ctx, system, ctx.sizes.runner_loop_n, runner_module="bench.launch",
                runner_env={"BENCH_SERVICE": "runner_svc", "BENCH_LOOP": loop})
            drained.pop("fill", None)
            rounds[loop].append(drained)
    await system.reset()
    await system.replace_runner(start=True)
    loops = [{"loop": loop, "rounds": len(runs),
              "runner_per_s": _median(runs, "runner_per_s"),
              "steady_per_s": _median(runs, "steady_per_s"),
              "runner_cpu_ms": _median([r["cpu_ms_per"] for r in runs], "runner"),
              "each_per_s": [r["runner_per_s"] for r in runs],
              "machine": [r["machine"] for r in runs]}
             for loop, runs in rounds.items()]
    return {"default": uvicorn_options(), "api": api, "runner_loop": loops,
            "json": json_costs()}


def _rotated(items: tuple[str, ...], r: int) -> list[str]:
    """Round r starts at a different variant, so none is always first after a pause."""
    k = r % len(items)
    return list(items[k:] + items[:k])


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if isinstance(row.get(key), int | float)]
    return round(statistics.median(values), 3) if values else None


async def api_variants(ctx: Context) -> list[dict[str, Any]]:
    """Its own stack (one API process per variant, all started first, no runner: the
    requests go to a topic nobody consumes, deleted at the end), measured in turn for
    `serving_rounds` rounds: triggers with wrk at 32 connections, then GET /health (the
    server's own overhead, no database); medians of the rounds."""
    stack = ctx.new_stack("srv")
    system = System(stack, ctx.database(stack.base_env()["DATABASE_NAME"]), runner_keys=[],
                    api_keys=[])
    variants = ctx.sizes.serving_variants
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    try:
        keys = {}
        for variant in variants:
            loop, http = variant.split("+")
            keys[variant] = await system.add_api(
                {"BENCH_SERVICE": "workflows_svc", "BENCH_LOOP": loop, "BENCH_HTTP": http},
                module="bench.launch")
        for r in range(ctx.sizes.serving_rounds):
            for variant in _rotated(variants, r):
                api = stack.services[keys[variant]]
                n = ctx.sizes.serving_n
                prefix = f"srv-{uuid.uuid4().hex[:6]}"
                now = utcnow()
                await insert(system.db, (manual_doc(f"{prefix}-{i:06d}", log_action(), now)
                                         for i in range(n)))
                _, result = await fill(ctx, system, prefix, n, concurrency=TRIGGER_CONCURRENCY,
                                       api=api)
                result["health"] = await health(ctx, api)
                runs[variant].append(result)
    finally:
        await asyncio.to_thread(stack.stop)
    rows = []
    for variant, results in runs.items():
        healths = [r["health"] for r in results if r["health"]]
        rows.append({
            "variant": variant, "rounds": len(results), "n": ctx.sizes.serving_n,
            "triggers_per_s": _median(results, "triggers_per_s"),
            "api_cpu_ms": _median([r["cpu_ms_per"] for r in results], "api"),
            "mongod_cpu_ms": _median([r["cpu_ms_per"] for r in results], "mongod"),
            "answer_p99_ms": _median([r["trigger_answer_ms"] for r in results], "p99"),
            "each_triggers_per_s": [r["triggers_per_s"] for r in results],
            "each_api_cpu_ms": [r["cpu_ms_per"].get("api") for r in results],
            "health_per_s": _median(healths, "per_s"),
            "health_cpu_us": _median(healths, "api_cpu_us"),
            "machine": [r["machine"] for r in results],
        })
    return rows


async def health(ctx: Context, api: ServiceProcess) -> dict[str, Any] | None:
    """wrk on GET /health for `health_s` (2 threads, 32 connections): requests/s and the
    API process's CPU microseconds per request."""
    exe, _ = wrk_binary()
    if exe is None:
        return None
    meter = CpuMeter({"api": api.proc.pid if api.proc else None})
    done = await asyncio.to_thread(
        subprocess.run, [exe, "-t", "2", "-c", "32", "-d", f"{ctx.sizes.health_s:g}s",
                         f"{api.url}/health"], capture_output=True, text=True, timeout=120)
    cpu_s = meter.seconds().get("api", 0.0)
    total = re.search(r"(\d+) requests in", done.stdout)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if not total or not rate:
        return None
    requests = int(total.group(1))
    return {"requests": requests, "per_s": float(rate.group(1)),
            "api_cpu_us": round(1e6 * cpu_s / max(1, requests), 1)}


def json_costs() -> dict[str, Any]:
    """Microseconds to serialize the trigger answer and a 50-workflow page: FastAPI's path
    for a response_model (pydantic-core straight to bytes), and what a custom response class
    would do instead (jsonable_encoder, then the stdlib's json or orjson)."""
    from fastapi.encoders import jsonable_encoder
    from pydantic import TypeAdapter

    from workflows_svc.schemas import TriggeredOut, WorkflowPage
    from workflows_svc.views import workflow_out

    now = utcnow()
    workflows = [WORKFLOW_HANDLER.from_document(manual_doc(f"json-{i:04d}", log_action(), now))
                 for i in range(50)]
    page = WorkflowPage(items=[workflow_out(w, now) for w in workflows], next_cursor="x" * 40)
    bodies: dict[str, tuple[Any, Any]] = {
        "trigger answer": (TriggeredOut(), TypeAdapter(TriggeredOut)),
        "GET /workflows?limit=50": (page, TypeAdapter(WorkflowPage)),
    }
    orjson: Any = None
    try:
        import orjson
    except ImportError:  # pragma: no cover - a dev dependency
        pass
    out: dict[str, Any] = {}
    for name, (value, adapter) in bodies.items():
        ways: dict[str, Any] = {
            "pydantic-core dump_json (FastAPI's path, in use)":
                lambda v=value, a=adapter: a.dump_json(v),
            "jsonable_encoder + json.dumps (JSONResponse)": lambda v=value: json.dumps(
                jsonable_encoder(v), ensure_ascii=False, separators=(",", ":")).encode(),
        }
        if orjson is not None:
            ways["jsonable_encoder + orjson (ORJSONResponse)"] = (
                lambda v=value: orjson.dumps(jsonable_encoder(v)))
        out[name] = {way: _us(call) for way, call in ways.items()}
    return out


def _us(call: Any) -> float:
    """Best of 5 rounds of 200 calls, in microseconds per call."""
    number = 200
    return round(min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6, 1)
