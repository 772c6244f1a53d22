"""How the API is served: one workflows_svc process's capacity (triggers/s with no runner
consuming, wrk at 32 connections) and CPU per trigger for each event loop + HTTP parser
(uvloop / asyncio, httptools / h11), the runner's drain rate on uvloop vs asyncio, and what
a faster JSON library would save per response.

Variants are started through bench/launch.py (the services' own entry points with the loop
and parser chosen); the product's default is what shared/serve.py names (uvloop +
httptools when installed, as uvicorn's "auto" picks).
"""

from __future__ import annotations

import asyncio
import json
import timeit
import uuid
from typing import Any

from bench.config import TRIGGER_CONCURRENCY
from bench.infra import Context, System
from bench.seed import insert, log_action, manual_doc, utcnow
from bench.throughput import drain_backlog, fill
from shared.mappers import WORKFLOW_HANDLER
from shared.serve import uvicorn_options


async def run(ctx: Context) -> dict[str, Any]:
    api = await api_variants(ctx)
    system = await ctx.system()
    loops = []
    for loop in ctx.sizes.runner_loops:
        await system.reset()
        drained = await drain_backlog(
            ctx, system, ctx.sizes.runner_loop_n, runner_module="bench.launch",
            runner_env={"BENCH_SERVICE": "runner_svc", "BENCH_LOOP": loop})
        drained.pop("fill", None)
        loops.append({"loop": loop, **drained})
    await system.reset()
    await system.replace_runner(start=True)
    return {"default": uvicorn_options(), "api": api, "runner_loop": loops,
            "json": json_costs()}


async def api_variants(ctx: Context) -> list[dict[str, Any]]:
    """Its own stack (an API per variant, no runner): the queued requests go to a topic
    nobody consumes, deleted at the end."""
    stack = ctx.new_stack("srv")
    system = System(stack, ctx.database(stack.base_env()["DATABASE_NAME"]), runner_keys=[],
                    api_keys=[])
    rows = []
    try:
        for variant in ctx.sizes.serving_variants:
            loop, http = variant.split("+")
            key = await system.add_api({"BENCH_SERVICE": "workflows_svc", "BENCH_LOOP": loop,
                                        "BENCH_HTTP": http}, module="bench.launch")
            try:
                n = ctx.sizes.serving_n
                prefix = f"srv-{uuid.uuid4().hex[:6]}"
                now = utcnow()
                await insert(system.db, (manual_doc(f"{prefix}-{i:06d}", log_action(), now)
                                         for i in range(n)))
                _, result = await fill(ctx, system, prefix, n, concurrency=TRIGGER_CONCURRENCY)
                rows.append({"variant": variant, **result})
            finally:
                await system.remove_api(key)
    finally:
        await asyncio.to_thread(stack.stop)
    return rows


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
