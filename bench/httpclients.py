"""HTTP client comparison for `http-request` actions: N GETs of the local target server at the
runner's concurrency, each read the way runner_svc/actions/http_request.py reads (streamed,
capped at HTTP_MAX_RESPONSE_BYTES, redirects not followed), per client and pool setting.

Each variant runs in its own process (`python -m bench.httpclients VARIANT URL N CONC`),
so its CPU seconds are its own; the target server's CPU is measured beside it. Only a
measurement: runner_svc/actions/http_request.py is not changed here.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psutil

from bench.infra import Context
from bench.probes import Window, percentiles
from shared.infra.settings import Settings
from tests.harness import ROOT

# name -> (library, pool size (None: the runner's settings, 0: = concurrency), event loop,
#          requests in flight (None: the runner's concurrency))
VARIANTS: dict[str, tuple[str, int | None, str, int | None]] = {
    "httpx, runner's pool (200 / 50 keep-alive)": ("httpx", None, "asyncio", None),
    "httpx, pool = concurrency": ("httpx", 0, "asyncio", None),
    "aiohttp, default connector (limit 100)": ("aiohttp", 100, "asyncio", None),
    "aiohttp, limit = concurrency": ("aiohttp", 0, "asyncio", None),
    "httpx, pool = concurrency, uvloop": ("httpx", 0, "uvloop", None),
    "aiohttp, limit = concurrency, uvloop": ("aiohttp", 0, "uvloop", None),
    "httpx, runner's pool, 1 in flight": ("httpx", None, "asyncio", 1),
    "aiohttp, default connector, 1 in flight": ("aiohttp", 100, "asyncio", 1),
}
SMOKE_VARIANTS = ("httpx, runner's pool (200 / 50 keep-alive)", "aiohttp, limit = concurrency")


async def run(ctx: Context) -> dict[str, Any]:
    url = f"{await ctx.target_url()}/ok"
    target_pid = ctx.target_pid()
    n, concurrency = ctx.sizes.http_clients_n, ctx.concurrency
    names = SMOKE_VARIANTS if ctx.smoke else tuple(VARIANTS)
    rows = []
    for name in names:
        in_flight = VARIANTS[name][3] or concurrency
        count = n if in_flight == concurrency else max(10, n // 4)
        row = await asyncio.to_thread(_one, name, url, count, in_flight, target_pid)
        rows.append({**row, "concurrency": in_flight})
    return {"url": url, "n": n, "concurrency": concurrency, "variants": rows}


def _one(name: str, url: str, n: int, concurrency: int, target_pid: int | None) -> dict[str, Any]:
    target = psutil.Process(target_pid) if target_pid else None
    before = sum(target.cpu_times()[:2]) if target else 0.0
    window = Window()
    done = subprocess.run(
        [sys.executable, "-m", "bench.httpclients", name, url, str(n), str(concurrency)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    machine = window.close()
    if done.returncode != 0:
        return {"variant": name, "error": done.stderr[-2000:]}
    row: dict[str, Any] = {"variant": name, **json.loads(done.stdout.strip().splitlines()[-1])}
    if target:
        row["target_cpu_ms_per_request"] = round(
            1000 * (sum(target.cpu_times()[:2]) - before) / max(1, row["ok"]), 3)
    row["machine"] = machine
    return row


# ------------------------------------------------------------------ in the child process

async def _measure(get: Callable[[], Awaitable[int]], n: int, concurrency: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status = await get()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    for _ in range(min(50, n)):  # warm up: connections open, code paths hot
        await get()
    me = psutil.Process()
    cpu_before, started = sum(me.cpu_times()[:2]), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu = sum(me.cpu_times()[:2]) - cpu_before
    ok = statuses.get(200, 0)
    return {"ok": ok, "statuses": {str(k): v for k, v in statuses.items()},
            "seconds": round(elapsed, 3), "per_s": round(len(latencies) / elapsed, 1),
            "cpu_ms_per_request": round(1000 * cpu / max(1, len(latencies)), 3),
            "latency_ms": percentiles(latencies)}


async def _httpx(url: str, n: int, concurrency: int, pool: int | None) -> dict:
    import httpx

    settings = Settings()
    limits = (httpx.Limits(max_connections=200, max_keepalive_connections=50) if pool is None
              else httpx.Limits(max_connections=pool or concurrency,
                                max_keepalive_connections=pool or concurrency))
    cap = settings.http_max_response_bytes
    async with httpx.AsyncClient(timeout=httpx.Timeout(settings.http_timeout_s), limits=limits,
                                 trust_env=False,
                                 headers={"user-agent": "workflow-runner/1.0"}) as client:
        async def get() -> int:
            async with client.stream("GET", url, follow_redirects=False) as response:
                read = 0
                async for chunk in response.aiter_bytes():
                    read += len(chunk)
                    if read >= cap:
                        break
                return response.status_code

        return await _measure(get, n, concurrency)


async def _aiohttp(url: str, n: int, concurrency: int, pool: int | None) -> dict:
    import aiohttp

    settings = Settings()
    cap = settings.http_max_response_bytes
    connector = aiohttp.TCPConnector(limit=pool or concurrency)
    timeout = aiohttp.ClientTimeout(total=settings.http_timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False,
                                     headers={"user-agent": "workflow-runner/1.0"}) as session:
        async def get() -> int:
            async with session.get(url, allow_redirects=False) as response:
                read = 0
                async for chunk in response.content.iter_chunked(65536):
                    read += len(chunk)
                    if read >= cap:
                        break
                return response.status

        return await _measure(get, n, concurrency)


def main() -> None:
    name, url, n, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    library, pool, loop, _ = VARIANTS[name]
    client = _httpx if library == "httpx" else _aiohttp
    coro = client(url, n, concurrency, pool)
    if loop == "uvloop":
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    result["library_version"] = _version(library)
    print(json.dumps(result))


def _version(library: str) -> str:
    from importlib import metadata

    return metadata.version(library)


if __name__ == "__main__":
    main()
