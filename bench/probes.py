"""Observing the services from outside: /metrics scrapes, RSS sampling, waiting, percentiles."""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

Samples = list[tuple[str, dict[str, str], float]]
MB = 1024 * 1024


async def scrape(http: httpx.AsyncClient, base_url: str) -> Samples:
    """Every sample of a service's /metrics."""
    response = await http.get(f"{base_url}/metrics", timeout=10)
    response.raise_for_status()
    return [
        (s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(response.text) for s in family.samples
    ]


def metric(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    return sum(
        value for n, have, value in samples
        if n == name and all(have.get(k) == v for k, v in labels.items())
    )


def db_commands(samples: Samples) -> Counter[str]:
    """`db_commands_total` by command name (the opt-in DB_COMMAND_METRICS hook)."""
    counts: Counter[str] = Counter()
    for name, labels, value in samples:
        if name == "db_commands_total":
            counts[labels.get("command", "?")] += int(value)
    return counts


def command_delta(before: Samples, after: Samples) -> dict[str, int]:
    delta = db_commands(after)
    delta.subtract(db_commands(before))
    return {k: v for k, v in sorted(delta.items()) if v}


async def wait_for(
    probe: Callable[[], Awaitable[bool]], *, timeout_s: float, interval_s: float = 0.05,
    what: str = "condition",
) -> float:
    """Poll `probe` until true; the time.time() at which it was seen true."""
    deadline = time.monotonic() + timeout_s
    while True:
        if await probe():
            return time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(interval_s)


class RssSampler:
    """Samples a process's resident set size on a thread: (time.time(), bytes)."""

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        self._process = psutil.Process(pid)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.samples: list[tuple[float, int]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> list[tuple[float, int]]:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.samples

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.time(), self._process.memory_info().rss))
            except psutil.Error:
                return
            self._stop.wait(self._interval_s)

    def between(self, start: float, end: float) -> list[int]:
        return [rss for t, rss in self.samples if start <= t <= end]


def mb(value: float | None) -> float | None:
    return None if value is None else round(value / MB, 1)


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """p50 / p95 / p99 / max / mean of a sample (nearest-rank), rounded."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        index = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
        return round(ordered[index], 2)

    return {
        "n": len(ordered), "p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99),
        "max": round(ordered[-1], 2), "mean": round(statistics.fmean(ordered), 2),
    }


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (the DB or Kafka server), if visible."""
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN":
                return conn.pid
    except (psutil.Error, OSError):
        return None
    return None


def server_pid(port: int, name: str) -> int | None:
    """The DB or Kafka server's pid: the listener on its port, else start-deps.sh's pid file
    (`$DEPS_DIR/run/<name>.pid`, `.deps/run/<name>.pid`)."""
    pid = listening_pid(port)
    if pid:
        return pid
    from tests.harness import ROOT

    for deps in (os.environ.get("DEPS_DIR"), str(ROOT / ".deps")):
        if not deps:
            continue
        try:
            pid = int((Path(deps) / "run" / f"{name}.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if psutil.pid_exists(pid):
            return pid
    return None


class CpuMeter:
    """CPU seconds (user + system) used by named processes over a window; a process that
    exits counts what it had used when last read."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items() if pid}
        self._start = time.monotonic()
        self._last: dict[str, float] = {}
        self._before = {name: self._cpu(name) for name in self._procs}

    def _cpu(self, name: str) -> float:
        try:
            times = self._procs[name].cpu_times()
            self._last[name] = times.user + times.system
        except psutil.Error:
            pass
        return self._last.get(name, 0.0)

    def sample(self) -> None:
        """Read every counter now (call before a measured process is stopped)."""
        for name in self._procs:
            self._cpu(name)

    def seconds(self) -> dict[str, float]:
        return {name: round(self._cpu(name) - self._before[name], 3) for name in self._procs}

    def read(self) -> dict[str, float]:
        """% of one core over the window."""
        elapsed = time.monotonic() - self._start
        return {name: round(100 * s / elapsed, 1) for name, s in self.seconds().items()}


class Window:
    """The machine during a measurement: load average and busy share of all cores."""

    def __init__(self) -> None:
        self._load = os.getloadavg()[0]
        self._cpu = psutil.cpu_times()
        self._started = time.monotonic()

    def close(self) -> dict[str, float]:
        after = psutil.cpu_times()
        idle = (after.idle + after.iowait) - (self._cpu.idle + self._cpu.iowait)
        total = sum(after) - sum(self._cpu)
        return {
            "seconds": round(time.monotonic() - self._started, 2),
            "load_1m_start": round(self._load, 2), "load_1m_end": round(os.getloadavg()[0], 2),
            "busy_pct": round(100 * (1 - idle / total), 1) if total > 0 else 0.0,
        }


def per_execution_ms(cpu_s: dict[str, float], done: int) -> dict[str, float]:
    """CPU milliseconds per finished execution (or trigger) of each process."""
    return {name: round(1000 * s / done, 3) for name, s in cpu_s.items()} if done else {}
