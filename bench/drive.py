"""HTTP trigger load: wrk (compiled, bench/wrk/trigger.lua) or, when wrk cannot be had, the
Python keep-alive client of bench/loadgen.py (then the report says so).

On this 2-core machine a Python generator spends about as much CPU per trigger as the
services it drives, so the figures would measure the driver as much as the system; wrk
spends a fraction of that. Either way the generator's own CPU seconds are reported.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from bench.loadgen import HttpPool

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk" / "trigger.lua"
INSTALL = HERE / "wrk" / "install.sh"
MAX_WRK_THREADS = 512


@dataclass
class Sent:
    workflow_id: str
    sent_at: float = 0.0       # time.time() just before the request
    answered_s: float = 0.0    # HTTP round trip
    status: int = 0            # -1: no answer
    retry_after: str | None = None


@dataclass
class Load:
    sent: list[Sent]
    generator: str
    cpu_s: float               # CPU seconds the generator spent (wrk: its process)
    started: float
    ended: float
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 200]

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.sent:
            counts[str(s.status)] = counts.get(str(s.status), 0) + 1
        return dict(sorted(counts.items()))


_wrk: dict[str, str | None] = {}


def wrk_binary() -> tuple[str | None, str]:
    """The wrk executable (installed by bench/wrk/install.sh if missing) or why there is none."""
    if "path" not in _wrk:
        found = shutil.which("wrk")
        reason = ""
        if found is None:
            done = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True,
                                  timeout=600)
            found = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists()
                                            else None)
            if found is None:
                reason = (done.stdout + done.stderr).strip()[-300:]
        _wrk["path"], _wrk["reason"] = found, reason
    return _wrk["path"], str(_wrk["reason"] or "")


def wrk_version() -> str | None:
    exe, _ = wrk_binary()
    if exe is None:
        return None
    out = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=10)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


async def triggers(
    apis: list[str], prefix: str, n: int, *, concurrency: int, rate: float = 0.0,
    python: bool = False,
) -> Load:
    """POST /workflows/{prefix}-{i:06d}/trigger for i < n: `concurrency` connections (spread
    over `apis`), as fast as answered (rate 0) or request i at start + i / rate."""
    exe, reason = wrk_binary()
    if exe is None or python:
        load = await _python(apis, prefix, n, concurrency=concurrency, rate=rate)
        if exe is None:
            load.notes.append(f"wrk unavailable ({reason}): Python generator used")
        return load
    return await asyncio.to_thread(_wrk_run, exe, apis, prefix, n, concurrency, rate)


def _wrk_run(exe: str, apis: list[str], prefix: str, n: int, concurrency: int,
             rate: float) -> Load:
    threads = max(1, min(concurrency, n, MAX_WRK_THREADS))
    parts = [urlsplit(u) for u in apis]
    ports = ",".join(str(p.port) for p in parts)
    out = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    start = time.time() + 0.5
    budget_s = (n / rate if rate > 0 else n / 20) + 60
    env = {
        **os.environ, "WRK_PATH": f"/workflows/{prefix}-%06d/trigger", "WRK_N": str(n),
        "WRK_THREADS": str(threads), "WRK_RATE": f"{rate:.6f}", "WRK_START": f"{start:.6f}",
        "WRK_OUT": str(out), "WRK_PORTS": ports,
    }
    cmd = [exe, "-t", str(threads), "-c", str(threads), "-d", f"{math.ceil(budget_s) + 30}s",
           "--timeout", "60s", "-s", str(LUA), f"http://{parts[0].hostname}:{parts[0].port}/"]
    with (out / "wrk.stdout").open("w") as stdout:
        proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.STDOUT)
        handle = psutil.Process(proc.pid)
        begun = time.time()
        cpu_s = 0.0
        notes: list[str] = []
        pending = {out / f"{t}.log" for t in range(1, threads + 1)}
        deadline = time.monotonic() + budget_s
        while pending and proc.poll() is None:
            pending = {p for p in pending if not _done(p)}
            if not pending:
                break
            if time.monotonic() > deadline:
                notes.append(f"{len(pending)} wrk threads unfinished after {budget_s:.0f} s")
                break
            time.sleep(0.05)
        try:
            times = handle.cpu_times()
            cpu_s = times.user + times.system
        except psutil.Error:
            pass
        ended = time.time()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    sent = _parse(out, prefix, n, start, rate)
    if proc.returncode not in (0, None) and not pending:
        notes.append(f"wrk exited {proc.returncode}")
    if not any(s.status >= 0 for s in sent):
        notes.append("wrk: " + (out / "wrk.stdout").read_text()[-500:])
    shutil.rmtree(out, ignore_errors=True)
    return Load(sent, f"wrk ({threads} connections, one per thread)", round(cpu_s, 3),
                begun, ended, notes)


def _done(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < 5:
                return False
            f.seek(-5, os.SEEK_END)
            return f.read() == b"done\n"
    except OSError:
        return False


def _parse(out: Path, prefix: str, n: int, start: float, rate: float) -> list[Sent]:
    sent = [Sent(f"{prefix}-{i:06d}", start + (i / rate if rate > 0 else 0.0), math.nan, -1)
            for i in range(n)]
    for log in out.glob("*.log"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) != 5:
                continue
            i, at, answered = int(fields[0]), float(fields[1]), float(fields[2])
            if 0 <= i < n:
                s = sent[i]
                s.sent_at, s.answered_s, s.status = at, answered - at, int(fields[3])
                s.retry_after = None if fields[4] == "-" else fields[4]
    return sent


async def _python(
    apis: list[str], prefix: str, n: int, *, concurrency: int, rate: float
) -> Load:
    """bench/loadgen.py's client in this process (its CPU is this process's)."""
    me = psutil.Process()
    before = me.cpu_times()
    pools = [HttpPool(api, max_connections=max(1, concurrency // len(apis))) for api in apis]
    sent = [Sent(f"{prefix}-{i:06d}") for i in range(n)]
    loop = asyncio.get_running_loop()
    begun = time.time()
    start = loop.time() + 0.2
    gate = asyncio.Semaphore(concurrency if rate <= 0 else 10_000)

    async def one(i: int) -> None:
        s = sent[i]
        async with gate:
            s.sent_at = time.time()
            try:
                s.status, s.sent_at, s.retry_after = await pools[i % len(pools)].post(
                    f"/workflows/{s.workflow_id}/trigger")
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
                s.status = -1
            s.answered_s = time.time() - s.sent_at

    tasks = []
    try:
        for i in range(n):
            if rate > 0:
                delay = start + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    finally:
        for pool in pools:
            await pool.aclose()
    after = me.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return Load(sent, "python (bench/loadgen.py, in the bench process)", round(cpu, 3),
                begun, time.time())
