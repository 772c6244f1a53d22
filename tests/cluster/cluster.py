"""A private 3-member MongoDB replica set and 3-broker Kafka cluster (start-deps.sh --cluster),
and the faults the cluster tests inject into it: step-downs and kill -9 of members.

Every process touched here was started by this cluster's start-deps.sh (its pid files, in its
own DEPS_DIR); nothing is looked up by name.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from tests.conftest import deps_install_dir, run_start_deps
from tests.polling import eventually

HOST = "127.0.0.1"
SIZE = 3
# Ports below the ephemeral range (32768+ here), so that no client is handed one as its source
# port while a killed member is down and its port is free.
PORT_RANGE = (20000, 32000)


def free_low_ports(n: int) -> list[int]:
    """`n` distinct free ports outside the ephemeral range (bound and released to check)."""
    chosen: list[int] = []
    candidates = random.sample(range(*PORT_RANGE), 400)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        chosen.append(port)
        if len(chosen) == n:
            return chosen
    raise RuntimeError(f"fewer than {n} free ports in {PORT_RANGE}")


def _exited(pid: int) -> bool:
    """Gone, or a zombie only waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@dataclass
class Fault:
    """One injected fault: what, on which member, and when (monotonic and wall clock)."""

    kind: str
    member: str
    at: float = field(default_factory=time.monotonic)
    at_utc: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Cluster:
    deps_dir: Path
    mongo_ports: list[int]
    kafka_ports: list[int]
    controller_ports: list[int]
    replset: str = "rs0"

    @classmethod
    def fresh(cls, deps_dir: Path) -> Cluster:
        ports = free_low_ports(3 * SIZE)
        return cls(deps_dir, ports[:SIZE], ports[SIZE:2 * SIZE], ports[2 * SIZE:])

    # ---------------------------------------------------------------- start-deps.sh

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_URL")}
        env.update(
            DEPS_DIR=str(self.deps_dir), DEPS_INSTALL_DIR=str(deps_install_dir()),
            DEPS_CLUSTER="1", DEPS_MODE="local", DEPS_TIMEOUT="180",
            MONGO_PORTS=",".join(map(str, self.mongo_ports)),
            KAFKA_PORTS=",".join(map(str, self.kafka_ports)),
            KAFKA_CONTROLLER_PORTS=",".join(map(str, self.controller_ports)),
            MONGO_REPLSET=self.replset,
        )
        return env

    def start_deps(self, *args: str, timeout: float = 300) -> str:
        return run_start_deps(*args, env=self.env(), timeout=timeout)

    async def up(self) -> float:
        """Start whatever member is not running and wait until all are healthy; seconds."""
        began = time.monotonic()
        await asyncio.to_thread(self.start_deps, "up")
        return time.monotonic() - began

    def down(self) -> None:
        self.start_deps("down", timeout=240)

    @property
    def mongo_url(self) -> str:
        hosts = ",".join(f"{HOST}:{p}" for p in self.mongo_ports)
        return f"mongodb://{hosts}/?replicaSet={self.replset}"

    @property
    def kafka_url(self) -> str:
        return ",".join(f"{HOST}:{p}" for p in self.kafka_ports)

    # ---------------------------------------------------------------- members

    def pid(self, member: str) -> int:
        return int((self.deps_dir / "cluster" / "run" / f"{member}.pid").read_text())

    async def kill9(self, member: str) -> Fault:
        """kill -9 a member (a process this cluster's start-deps.sh started), wait until gone."""
        pid = self.pid(member)
        fault = Fault("kill -9", member)
        os.kill(pid, signal.SIGKILL)

        async def gone() -> bool:
            return _exited(pid)

        await eventually(gone, timeout_s=10, interval_s=0.05, what=f"{member} gone")
        return fault

    def mongo_member(self, host_port: str) -> str:
        return f"mongo{self.mongo_ports.index(int(host_port.rsplit(':', 1)[1])) + 1}"

    def kafka_member(self, node_id: int) -> str:
        return f"kafka{node_id}"

    # ---------------------------------------------------------------- MongoDB

    def _direct(self, port: int) -> AsyncMongoClient[dict[str, Any]]:
        return AsyncMongoClient(HOST, port, directConnection=True, serverSelectionTimeoutMS=2000,
                                connectTimeoutMS=2000)

    async def mongo_primary(self, *, timeout_s: float = 60) -> str:
        """The member that is primary now (waits, bounded, until there is one)."""

        async def find() -> str | None:
            for port in self.mongo_ports:
                client = self._direct(port)
                try:
                    hello = await client.admin.command("hello")
                except PyMongoError:
                    continue
                finally:
                    await client.close()
                if hello.get("isWritablePrimary"):
                    return f"mongo{self.mongo_ports.index(port) + 1}"
            return None

        found = await eventually(find, timeout_s=timeout_s, interval_s=0.2, what="a primary")
        assert found is not None
        return found

    async def step_down_primary(self, seconds: int = 30) -> Fault:
        """replSetStepDown on the primary: it stops taking writes and an election follows."""
        member = await self.mongo_primary()
        client = self._direct(self.mongo_ports[int(member[-1]) - 1])
        fault = Fault("replSetStepDown", member)
        try:
            await client.admin.command("replSetStepDown", seconds)
        except ConnectionFailure:
            pass  # the stepping-down primary may close our connection
        except OperationFailure as exc:
            raise AssertionError(f"replSetStepDown on {member} refused: {exc}") from exc
        finally:
            await client.close()
        return fault

    async def mongo_healthy(self, *, timeout_s: float = 120) -> None:
        """One primary, two secondaries (poll)."""

        async def healthy() -> bool:
            states = []
            for port in self.mongo_ports:
                client = self._direct(port)
                try:
                    hello = await client.admin.command("hello")
                except PyMongoError:
                    return False
                finally:
                    await client.close()
                states.append("P" if hello.get("isWritablePrimary") else
                              "S" if hello.get("secondary") else "?")
            return sorted(states) == ["P", "S", "S"]

        await eventually(healthy, timeout_s=timeout_s, interval_s=0.25,
                         what="replica set with one primary and two secondaries")

    # ---------------------------------------------------------------- Kafka

    async def _partitions(self, topic: str) -> list[dict[str, Any]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka_url, request_timeout_ms=5000)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return [p for t in described if t["topic"] == topic for p in t["partitions"]]

    async def kafka_leader(self, topic: str, partition: int = 0) -> str:
        """The broker leading `partition` of `topic` now."""
        for p in await self._partitions(topic):
            if p["partition"] == partition and p["leader"] >= 0:
                return self.kafka_member(p["leader"])
        raise AssertionError(f"{topic}[{partition}] has no leader")

    async def kafka_in_sync(self, topic: str, *, timeout_s: float = 120) -> None:
        """Every partition of `topic` has its three replicas in sync again (poll)."""

        async def in_sync() -> bool:
            try:
                parts = await self._partitions(topic)
            except Exception:
                return False
            return bool(parts) and all(
                len(p["isr"]) == SIZE and p["leader"] >= 0 for p in parts
            )

        await eventually(in_sync, timeout_s=timeout_s, interval_s=0.5,
                         what=f"{topic}: all replicas in sync")

    async def replicas(self, topic: str) -> list[int]:
        """Replica count and min ISR of `topic` as created by the services."""
        return [len(p["replicas"]) for p in await self._partitions(topic)]
