"""The run's context: service stacks (tests/harness.py), clients, and cleaning up after."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.config import Sizes, service_env
from bench.probes import listening_pid
from bench.seed import utcnow
from tests.harness import ROOT, ServiceProcess, Stack

Doc = dict[str, Any]


@dataclass
class System:
    """API + scheduler + runner sharing one database and topic (throughput, latency, ...)."""

    stack: Stack
    db: AsyncDatabase[Doc]
    runner_key: str = "runner_svc"
    runners_started: int = 1

    @property
    def api(self) -> str:
        return self.stack.api

    @property
    def runner(self) -> ServiceProcess:
        return self.stack.services[self.runner_key]

    @property
    def scheduler(self) -> ServiceProcess:
        return self.stack.services["scheduler_svc"]

    async def reset(self, timeout_s: float = 60.0) -> None:
        """Empty both collections between measurements, so each one starts from the same
        state: archive everything, let attempts in flight end, delete."""
        workflows = self.db["workflows"]
        await workflows.update_many(
            {"archived_at": None}, {"$set": {"archived_at": utcnow(), "trigger.next_run": None}}
        )
        deadline = time.monotonic() + timeout_s
        while await workflows.count_documents({"status": "locked"}, limit=1):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        await workflows.delete_many({})
        await self.db["executions"].delete_many({})

    async def replace_runner(self, *, start: bool) -> None:
        """Stop the runner; start a fresh one if asked (call again with start=True later)."""
        if self.runner.proc is not None and self.runner.proc.poll() is None:
            await asyncio.to_thread(self.runner.terminate, 30)
        if start:
            self.runners_started += 1
            self.runner_key = f"runner-{self.runners_started}"
            await asyncio.to_thread(self.stack.add, "runner_svc", name=self.runner_key)


@dataclass
class Context:
    sizes: Sizes
    smoke: bool
    mongo_url: str
    kafka_url: str
    concurrency: int
    workdir: Path
    profile_dir: Path | None = None
    results: dict[str, Any] = field(default_factory=dict)
    stacks: list[Stack] = field(default_factory=list)
    databases: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    _system: System | None = None
    _target: subprocess.Popen[str] | None = None
    _target_url: str | None = None

    def __post_init__(self) -> None:
        self.mongo: AsyncMongoClient[Doc] = AsyncMongoClient(
            self.mongo_url, tz_aware=True, maxPoolSize=100
        )
        self.http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=300, max_keepalive_connections=300),
            trust_env=False,
        )

    def new_stack(self, prefix: str) -> Stack:
        """A stack with production-like settings; its database and topic are dropped at the end."""
        name = f"{prefix}{uuid.uuid4().hex[:6]}"
        database = f"bench_{name}"
        stack = Stack(
            mongo_url=self.mongo_url, kafka_url=self.kafka_url, workdir=self.workdir / name,
            env={**service_env(self.concurrency), "DATABASE_NAME": database}, name=name,
        )
        self.stacks.append(stack)
        self.databases.add(database)
        self.topics.add(stack.base_env()["KAFKA_TOPIC"])
        return stack

    def cpu_pids(self, services: dict[str, ServiceProcess]) -> dict[str, int | None]:
        """Our services, the DB and Kafka servers, and this process, for a CpuMeter."""
        db_port = int(self.mongo_url.rsplit(":", 1)[-1].split("/")[0].split("?")[0] or 27017)
        pids: dict[str, int | None] = {
            name: svc.proc.pid if svc.proc else None for name, svc in services.items()
        }
        pids["db server"] = listening_pid(db_port)
        pids["kafka server"] = listening_pid(int(self.kafka_url.rsplit(":", 1)[-1]))
        pids["bench"] = os.getpid()
        return pids

    def database(self, name: str) -> AsyncDatabase[Doc]:
        self.databases.add(name)
        return self.mongo[name]

    async def system(self) -> System:
        if self._system is None:
            stack = self.new_stack("sys")
            await asyncio.to_thread(stack.start)
            self._system = System(stack, self.mongo[stack.base_env()["DATABASE_NAME"]])
        return self._system

    async def target_url(self) -> str:
        """tests/target_server.py's TargetServer, in its own process (see bench/target.py)."""
        if self._target_url is None:
            self._target, self._target_url = await asyncio.to_thread(_start_target)
        return str(self._target_url)

    async def close(self) -> None:
        """Stop every process, drop the benchmark databases, delete the topics."""
        for stack in self.stacks:
            await asyncio.to_thread(stack.stop)
        if self._target is not None:
            await asyncio.to_thread(_stop_target, self._target)
        for name in sorted(self.databases):
            await self.mongo.drop_database(name)
        await self._delete_topics()
        await self.http.aclose()
        await self.mongo.close()

    async def _delete_topics(self) -> None:
        if not self.topics:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka_url)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            doomed = sorted(self.topics & existing)
            if doomed:
                await admin.delete_topics(doomed)
        finally:
            await admin.close()


def _start_target() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.target"], cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"target server did not start: {line!r}")
    return proc, line.strip()


def _stop_target(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
