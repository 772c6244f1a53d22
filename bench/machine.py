"""What the run ran on: CPU, cores, memory, Python, library and server versions, load."""

from __future__ import annotations

import asyncio
import glob
import os
import platform
import re
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from pymongo import AsyncMongoClient

from tests.harness import ROOT


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _kafka_jar_version(paths: list[str]) -> str | None:
    for pattern in paths:
        for jar in sorted(glob.glob(pattern), key=len):
            found = re.search(r"kafka_[0-9.]+-([0-9][^/]*?)\.jar$", jar)
            if found:
                return found.group(1)
    return None


def kafka_version(kafka_url: str) -> str:
    """The broker's version from the classpath of the process listening on its port."""
    port = int(kafka_url.rsplit(":", 1)[-1])
    patterns: list[str] = []
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
                args = psutil.Process(conn.pid).cmdline()
                for i, arg in enumerate(args[:-1]):
                    if arg in ("-cp", "-classpath"):
                        patterns += [p.replace("*", "kafka_*.jar") for p in
                                     args[i + 1].split(":") if p.endswith("*")]
    except (psutil.Error, OSError):
        pass
    patterns.append(str(ROOT / ".deps" / "kafka" / "libs" / "kafka_*.jar"))
    version = _kafka_jar_version(patterns)
    return f"Apache Kafka {version}" if version else "Apache Kafka (version unknown)"


async def db_version(client: AsyncMongoClient[dict[str, Any]]) -> str:
    info = await client.admin.command("buildInfo")
    hello = await client.admin.command("hello")
    shape = f"replica set {hello['setName']}" if hello.get("setName") else "standalone"
    return f"mongod {info.get('version', '?')} ({shape})"


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def _label(process: psutil.Process) -> str:
    name = process.name()
    try:
        args = process.cmdline()
    except psutil.Error:
        return name
    if name.startswith("python") or name == "java":
        rest = [a for a in args[1:] if not a.startswith("-")]
        if "-m" in args[1:]:
            rest = [args[args.index("-m") + 1]]
        if rest:
            return f"{name} {Path(rest[0]).name[:40]}"
    return name


def busy_processes(sample_s: float = 1.0, top: int = 6) -> list[tuple[str, float]]:
    """The processes using most CPU over a short sample (% of one core), this one excluded."""
    procs = []
    for process in psutil.process_iter():
        try:
            process.cpu_percent(None)
            procs.append(process)
        except psutil.Error:
            continue
    time.sleep(sample_s)
    usage = []
    for process in procs:
        try:
            if process.pid == os.getpid():
                continue
            usage.append((round(process.cpu_percent(None), 1), _label(process)))
        except psutil.Error:
            continue
    usage.sort(reverse=True)
    return [(label, pct) for pct, label in usage[:top] if pct >= 1.0]


async def describe(client: AsyncMongoClient[dict[str, Any]], kafka_url: str) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(memory.total / 1024**3, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "libraries": {
            name: metadata.version(name)
            for name in ("pymongo", "aiokafka", "fastapi", "uvicorn", "uvloop", "httptools",
                         "pydantic", "httpx", "aiohttp")
            if _installed(name)
        },
        "kafka": kafka_version(kafka_url),
        "database": await db_version(client),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "busy_processes": await asyncio.to_thread(busy_processes),
    }
