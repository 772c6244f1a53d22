"""The run's context: service stacks (tests/harness.py), clients, and cleaning up after."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.uri_parser import parse_uri

from bench.config import QUEUE_WAIT, Sizes, default, service_env
from bench.drive import Load
from bench.probes import CpuMeter, Window, per_execution_ms, server_pid
from bench.seed import utcnow
from tests.harness import ROOT, ServiceProcess, Stack

Doc = dict[str, Any]
NOT_SERVICES = ("mongod", "kafka", "bench", "generator", "target")


@dataclass
class Measure:
    """CPU of every process and the machine's load over one measurement."""

    cpu: CpuMeter
    window: Window

    def done(self, count: int, load: Load | None = None) -> dict[str, Any]:
        """`count`: the executions (or triggers) the CPU is divided by."""
        seconds = self.cpu.seconds()
        if load is not None:
            seconds["generator"] = load.cpu_s
            if load.generator.startswith("python"):  # it ran inside this process
                seconds["bench"] = round(max(0.0, seconds.get("bench", 0.0) - load.cpu_s), 3)
        services = sum(v for k, v in seconds.items() if k not in NOT_SERVICES)
        return {
            "cpu_s": seconds, "cpu_ms_per": per_execution_ms(seconds, count),
            "cpu_services_ms": round(1000 * services / count, 3) if count else None,
            "cpu_all_ms": round(1000 * sum(seconds.values()) / count, 3) if count else None,
            "machine": self.window.close(),
        }


@dataclass
class System:
    """API(s) + scheduler + runner(s) sharing one database and topic."""

    stack: Stack
    db: AsyncDatabase[Doc]
    runner_keys: list[str] = field(default_factory=lambda: ["runner_svc"])
    api_keys: list[str] = field(default_factory=lambda: ["workflows_svc"])
    started: int = 1

    @property
    def api(self) -> str:
        return self.stack.services[self.api_keys[0]].url

    @property
    def apis(self) -> list[str]:
        return [self.stack.services[k].url for k in self.api_keys]

    @property
    def runner(self) -> ServiceProcess:
        return self.stack.services[self.runner_keys[0]]

    @property
    def runners(self) -> list[ServiceProcess]:
        return [self.stack.services[k] for k in self.runner_keys]

    @property
    def scheduler(self) -> ServiceProcess:
        return self.stack.services["scheduler_svc"]

    def processes(self) -> dict[str, ServiceProcess]:
        """The running services by report name: api, api-2, scheduler, runner, runner-2..."""
        named: dict[str, ServiceProcess] = {}
        for i, key in enumerate(self.api_keys):
            named["api" if i == 0 else f"api-{i + 1}"] = self.stack.services[key]
        if "scheduler_svc" in self.stack.services:
            named["scheduler"] = self.scheduler
        for i, key in enumerate(self.runner_keys):
            named["runner" if i == 0 else f"runner-{i + 1}"] = self.stack.services[key]
        return {k: v for k, v in named.items() if v.proc is not None and v.proc.poll() is None}

    def pids(self, *names: str) -> dict[str, int]:
        """The pids of these running services (report names), for a profile."""
        return {name: p.proc.pid for name, p in self.processes().items()
                if name in names and p.proc is not None}

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

    async def stop_runners(self) -> None:
        for runner in self.runners:
            if runner.proc is not None and runner.proc.poll() is None:
                await asyncio.to_thread(runner.terminate, 30)
        self.runner_keys = []

    async def start_runners(self, count: int, env: dict[str, str] | None = None,
                            module: str = "runner_svc") -> None:
        """Fresh runner processes (after stop_runners), started together so that they join
        the consumer group at about the same time."""
        started = []
        for _ in range(count):
            self.started += 1
            key = f"runner-{self.started}"
            started.append(await asyncio.to_thread(
                self.stack.add, module, name=key, env=env, wait=False))
            self.runner_keys.append(key)
        for runner in started:
            await asyncio.to_thread(runner.wait_healthy)

    async def replace_runner(self, *, start: bool) -> None:
        """Stop the runner(s); start one fresh runner if asked."""
        await self.stop_runners()
        if start:
            await self.start_runners(1)

    async def add_api(self, env: dict[str, str] | None = None,
                      module: str = "workflows_svc") -> str:
        self.started += 1
        key = f"api-{self.started}"
        await asyncio.to_thread(self.stack.add, module, name=key, env=env)
        self.api_keys.append(key)
        return key

    async def remove_api(self, key: str) -> None:
        await asyncio.to_thread(self.stack.services[key].terminate, 20)
        self.api_keys.remove(key)

    @asynccontextmanager
    async def extra_api(self, env: dict[str, str]) -> AsyncIterator[str]:
        """One more API process with `env` while the context is open; its URL."""
        key = await self.add_api(env)
        try:
            yield self.stack.services[key].url
        finally:
            await self.remove_api(key)

    def default_api(self) -> AbstractAsyncContextManager[str]:
        """An API at every default, the queue-wait bound included (the stack's is off)."""
        return self.extra_api({QUEUE_WAIT: default(QUEUE_WAIT)})


@dataclass
class Context:
    sizes: Sizes
    smoke: bool
    mongo_url: str
    kafka_url: str
    concurrency: int
    concurrency_override: int | None
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

    def new_stack(self, prefix: str, env: dict[str, str] | None = None) -> Stack:
        """A stack with the default settings; its database and topic are dropped at the end."""
        name = f"{prefix}{uuid.uuid4().hex[:6]}"
        database = f"bench_{name}"
        stack = Stack(
            mongo_url=self.mongo_url, kafka_url=self.kafka_url, workdir=self.workdir / name,
            env={**service_env(self.concurrency_override), "DATABASE_NAME": database,
                 **(env or {})}, name=name,
        )
        self.stacks.append(stack)
        self.databases.add(database)
        self.topics.add(stack.base_env()["KAFKA_TOPIC"])
        return stack

    def cpu_pids(self, services: dict[str, ServiceProcess]) -> dict[str, int | None]:
        """Our services, the DB and Kafka servers, and this process, for a CpuMeter."""
        db_host = parse_uri(self.mongo_url)["nodelist"][0]
        pids: dict[str, int | None] = {
            name: svc.proc.pid if svc.proc else None for name, svc in services.items()
        }
        pids["mongod"] = server_pid(int(db_host[1]), "mongo")
        pids["kafka"] = server_pid(int(self.kafka_url.split(",")[0].rsplit(":", 1)[-1]), "kafka")
        pids["bench"] = os.getpid()
        pids["target"] = self.target_pid()
        return pids

    def measure(self, services: dict[str, ServiceProcess]) -> Measure:
        return Measure(CpuMeter(self.cpu_pids(services)), Window())

    def database(self, name: str) -> AsyncDatabase[Doc]:
        self.databases.add(name)
        return self.mongo[name]

    async def system(self) -> System:
        if self._system is None:
            stack = self.new_stack("sys")
            await asyncio.to_thread(stack.start)
            self.databases.add(stack.base_env()["DATABASE_NAME"])
            self._system = System(stack, self.mongo[stack.base_env()["DATABASE_NAME"]])
        return self._system

    def target_pid(self) -> int | None:
        return self._target.pid if self._target is not None else None

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
