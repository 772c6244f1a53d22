"""Infrastructure fixtures shared by every test suite: live Kafka and MongoDB.

Resolution, per server, done lazily by the session fixture ``infra`` (only tests that ask for
it, directly or through ``mongo_url``/``kafka_url``/``mongo_client``/..., start anything):

1. ``DATABASE_URL`` / ``KAFKA_URL`` when set: the server must answer there, else the run fails.
2. Otherwise testcontainers (``mongo:7``, ``apache/kafka:4.1.0``) when a Docker engine answers.
3. Otherwise ``./start-deps.sh up`` (local mode: Kafka from Maven Central's jars and a real
   mongod 6.0 as a single-node replica set, bound to 127.0.0.1), left running for the next run.

Missing infrastructure is never a skip: the fixture raises and the tests error out.
The Kafka and database server versions are printed in the terminal summary.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pymongo
import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

ROOT = Path(__file__).resolve().parent.parent
START_DEPS = ROOT / "start-deps.sh"
MONGO_IMAGE = "mongo:7"
KAFKA_IMAGE = "apache/kafka:4.1.0"
RUN_ID = uuid.uuid4().hex[:8]


def _load_probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deps_probe", ROOT / "deps" / "probe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = _load_probe()


def deps_dir() -> Path:
    raw = os.environ.get("DEPS_DIR", ".deps")
    path = Path(raw)
    return path if path.is_absolute() else ROOT / path


def deps_install_dir() -> Path:
    raw = os.environ.get("DEPS_INSTALL_DIR")
    if not raw:
        return deps_dir()
    path = Path(raw)
    return path if path.is_absolute() else ROOT / path


def answers(kind: str, url: str, timeout: float = 3.0) -> str | None:
    """The probe's one-line description if a ``kind`` server answers at ``url``, else None."""
    try:
        if kind == "kafka":
            return str(probe.probe_kafka(url, timeout))
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            url, serverSelectionTimeoutMS=int(timeout * 1000), connectTimeoutMS=int(timeout * 1000)
        )
        try:
            client.admin.command("ping")
            return f"mongo ok at {url}"
        finally:
            client.close()
    except Exception:  # refused, timed out, or not a server of that kind
        return None


@dataclass
class Infra:
    """Where the servers are, where they came from, and what they are."""

    mongo_url: str
    kafka_url: str
    mongo_source: str  # env | testcontainers | start-deps
    kafka_source: str
    mongo_server: str = "?"
    kafka_server: str = "?"
    restart_mongo: Callable[[], None] | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def mongo_is_local(self) -> bool:
        """True when the database is this checkout's start-deps.sh server (restartable)."""
        return self.mongo_source == "start-deps"

    def describe(self) -> list[str]:
        return [
            f"kafka: {self.kafka_server} at {self.kafka_url} [{self.kafka_source}]",
            f"db:    {self.mongo_server} at {self.mongo_url} [{self.mongo_source}]",
        ]


_INFRA: Infra | None = None


# ------------------------------------------------------------------ start-deps.sh helpers


def run_start_deps(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run start-deps.sh, raise (with its output) on a non-zero exit; return its stdout."""
    proc = subprocess.run(
        [str(START_DEPS), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"start-deps.sh {' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc.stdout


def start_deps_urls(*services: str) -> dict[str, str]:
    """URLs that start-deps.sh would export, e.g. {"KAFKA_URL": ..., "DATABASE_URL": ...}."""
    out = run_start_deps("env", *services, timeout=30)
    return dict(re.findall(r"^export (\w+)=(\S+)$", out, flags=re.M))


def _is_start_deps_local(service: str, url: str) -> bool:
    mode_file = deps_dir() / "run" / f"{service}.mode"
    if not mode_file.is_file() or mode_file.read_text().strip() != "local":
        return False
    key = "KAFKA_URL" if service == "kafka" else "DATABASE_URL"
    return start_deps_urls(service).get(key) == url


def free_ports(n: int) -> list[int]:
    """``n`` distinct currently free TCP ports on 127.0.0.1."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def private_deps_env(private_dir: Path) -> dict[str, str]:
    """Environment for a start-deps.sh of its own: local mode, its own DEPS_DIR and free ports,
    DATABASE_URL/KAFKA_URL unset; the jars and classes of the checkout's install are reused."""
    kafka_port, controller_port, mongo_port = free_ports(3)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_URL")}
    env.update(
        DEPS_DIR=str(private_dir),
        DEPS_INSTALL_DIR=str(deps_install_dir()),
        DEPS_MODE="local",
        KAFKA_PORT=str(kafka_port),
        KAFKA_CONTROLLER_PORT=str(controller_port),
        MONGO_PORT=str(mongo_port),
        DEPS_TIMEOUT="120",
    )
    return env


def local_kafka_version() -> str | None:
    libs = deps_install_dir() / "kafka" / "libs"
    for jar in sorted(libs.glob("kafka_2.13-*.jar")):
        return jar.name.removeprefix("kafka_2.13-").removesuffix(".jar")
    return None


# ------------------------------------------------------------------ docker / testcontainers


def _docker_available() -> bool:
    try:
        import docker  # provided by testcontainers
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _wait_for(kind: str, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(kind, url, timeout=2.0):
            return
        time.sleep(0.5)  # polling interval of a bounded readiness loop
    raise RuntimeError(f"{kind} at {url} did not answer within {timeout:.0f}s")


def _testcontainers_mongo(
    infra_closers: list[Callable[[], None]],
) -> tuple[str, Callable[[], None]]:
    from testcontainers.mongodb import MongoDbContainer

    port = free_ports(1)[0]  # fixed host port: the URL survives a container restart
    container = MongoDbContainer(MONGO_IMAGE, username="admin", password="password")
    container.with_bind_ports(27017, port)
    container.start()
    infra_closers.append(container.stop)
    url = f"mongodb://admin:password@127.0.0.1:{port}/?authSource=admin"
    _wait_for("mongo", url, 120)

    def restart() -> None:
        container.get_wrapped_container().restart(timeout=30)
        _wait_for("mongo", url, 120)

    return url, restart


def _testcontainers_kafka(infra_closers: list[Callable[[], None]]) -> str:
    from testcontainers.core.container import DockerContainer

    port = free_ports(1)[0]  # fixed host port, so that the advertised listener is known up front
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        .with_env("KAFKA_NUM_PARTITIONS", "3")
    )
    container.start()
    infra_closers.append(container.stop)
    url = f"127.0.0.1:{port}"
    _wait_for("kafka", url, 120)
    return url


# ------------------------------------------------------------------ resolution


def _mongo_server_description(url: str) -> str:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=10_000
    )
    try:
        info = client.admin.command("buildInfo")
        status = client.admin.command("serverStatus")
        wire = client.admin.command("isMaster").get("maxWireVersion")
    finally:
        client.close()
    version = info.get("version", "?")
    engine = (status.get("storageEngine") or {}).get("name", "?")
    repl = status.get("repl") or {}
    topology = f"replica set {repl['setName']}" if repl.get("setName") else "standalone"
    process = status.get("process", "mongod")
    return f"MongoDB {version} ({process}, {engine}, {topology}), wire {wire}"


def _resolve_infra() -> Infra:
    closers: list[Callable[[], None]] = []
    urls: dict[str, str] = {}
    sources: dict[str, str] = {}
    restart_mongo: Callable[[], None] | None = None

    for service, key in (("mongo", "DATABASE_URL"), ("kafka", "KAFKA_URL")):
        value = os.environ.get(key)
        if value:
            if not answers(service, value, timeout=5.0):
                raise RuntimeError(
                    f"{key}={value} is set but no {service} server answers there: "
                    f"start it (./start-deps.sh up) or unset {key}"
                )
            urls[service] = value
            sources[service] = "env"

    missing = [s for s in ("mongo", "kafka") if s not in urls]
    if missing and _docker_available():
        if "mongo" in missing:
            urls["mongo"], restart_mongo = _testcontainers_mongo(closers)
            sources["mongo"] = "testcontainers"
        if "kafka" in missing:
            urls["kafka"] = _testcontainers_kafka(closers)
            sources["kafka"] = "testcontainers"
    elif missing:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_URL")}
        run_start_deps("up", *missing, env=env)
        exported = start_deps_urls(*missing)
        for service in missing:
            urls[service] = exported["KAFKA_URL" if service == "kafka" else "DATABASE_URL"]
            sources[service] = "start-deps"

    # A URL from the environment that is this checkout's start-deps.sh server counts as local.
    for service in ("mongo", "kafka"):
        if sources[service] == "env" and _is_start_deps_local(service, urls[service]):
            sources[service] = "start-deps"

    if sources["mongo"] == "start-deps":

        def restart_mongo() -> None:
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_URL")}
            run_start_deps("restart", "mongo", env=env)

    if sources["kafka"] == "start-deps":
        kafka_server = f"Apache Kafka {local_kafka_version() or '?'} (KRaft, local jars)"
    elif sources["kafka"] == "testcontainers":
        kafka_server = f"Apache Kafka {KAFKA_IMAGE.split(':')[1]} (image {KAFKA_IMAGE})"
    else:
        kafka_server = "Kafka (external; version not reported over the protocol)"

    infra = Infra(
        mongo_url=urls["mongo"],
        kafka_url=urls["kafka"],
        mongo_source=sources["mongo"],
        kafka_source=sources["kafka"],
        mongo_server=_mongo_server_description(urls["mongo"]),
        kafka_server=kafka_server,
        restart_mongo=restart_mongo,
        _closers=closers,
    )
    return infra


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """Live Kafka + MongoDB for the whole session (never skipped: failures are errors)."""
    global _INFRA
    try:
        _INFRA = _resolve_infra()
    except Exception as exc:
        pytest.fail(f"test infrastructure unavailable: {exc}", pytrace=False)
    print("\n" + "\n".join(_INFRA.describe()))
    yield _INFRA
    for close in reversed(_INFRA._closers):
        with contextlib.suppress(Exception):
            close()


@pytest.fixture(scope="session")
def mongo_url(infra: Infra) -> str:
    return infra.mongo_url


@pytest.fixture(scope="session")
def kafka_url(infra: Infra) -> str:
    return infra.kafka_url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mongo_client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A connected ``AsyncMongoClient`` (tz_aware: datetimes come back as aware UTC)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_url, serverSelectionTimeoutMS=15_000, tz_aware=True
    )
    await client.admin.command("ping")
    yield client
    await client.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mongo_db(
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A database unique to this run (``test_<8 hex>``), dropped at the end."""
    name = f"test_{RUN_ID}"
    yield mongo_client[name]
    with contextlib.suppress(Exception):
        await mongo_client.drop_database(name)


def _topic_name(nodename: str, suffix: str = "") -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", nodename).strip("-")[:80]
    return f"t-{base}{suffix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unique_topic(request: pytest.FixtureRequest) -> str:
    """A Kafka topic name unique to this test: ``t-<test name>-<8 hex>`` (not created)."""
    return _topic_name(request.node.name)


@pytest.fixture
def make_topic_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Factory for more unique topic names in one test: ``make_topic_name("dlq")``."""

    def make(suffix: str = "") -> str:
        return _topic_name(request.node.name, f"-{suffix}" if suffix else "")

    return make


# ------------------------------------------------------------------ tiers

CLUSTER_TIER = ROOT / "tests" / "cluster"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/cluster (its own 3+3-node cluster, ./dev.sh cluster-test) is collected only when
    a command-line path names it, so that the default test paths do not run it."""
    if collection_path != CLUSTER_TIER:
        return None
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        named = (base / arg.split("::", 1)[0]).resolve()
        if named == CLUSTER_TIER or CLUSTER_TIER in named.parents:
            return None
    return True


# ------------------------------------------------------------------ reporting


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        "infra: DATABASE_URL={} KAFKA_URL={} (servers are resolved lazily, "
        "versions in the summary)".format(
            os.environ.get("DATABASE_URL", "<unset>"), os.environ.get("KAFKA_URL", "<unset>")
        )
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _INFRA is None:
        terminalreporter.write_line("infra: not used by the selected tests")
        return
    terminalreporter.section("server versions")
    for line in _INFRA.describe():
        terminalreporter.write_line(line)
