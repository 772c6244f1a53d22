"""Cluster tier: a private 3-member replica set and 3-broker Kafka cluster for the session.

`./start-deps.sh up --cluster` in a DEPS_DIR of its own (under pytest's tmp dir) with free
ports below the ephemeral range, reusing the checkout's installed jars and mongod
(DEPS_INSTALL_DIR); `down` at the end. This tier is not part of the default test paths: run
it with `./dev.sh cluster-test` (or `pytest tests/cluster`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from tests.cluster.cluster import Cluster
from tests.fault.load import Db
from tests.harness import Stack
from tests.stack_fixtures import stack_logs_hook
from tests.stack_fixtures import target as target  # the session's target server

LIVE: list[Stack] = []
FIGURES: list[dict[str, Any]] = []
pytest_runtest_makereport = stack_logs_hook(LIVE)
# The services' settings for a cluster (README "Running on a cluster"); the lease and the
# scheduled timeout are shortened as in the fault tier, but kept above an election (~12 s).
CLUSTER_ENV = {
    "KAFKA_REPLICATION_FACTOR": "3",
    "KAFKA_MIN_INSYNC_REPLICAS": "2",
    "DB_WRITE_CONCERN": "majority",
    "DB_READ_CONCERN": "majority",
    "LOCK_LEASE_S": "20",
    "SCHEDULED_TIMEOUT_S": "10",
}
StartClusterStack = Callable[..., Awaitable[tuple[Stack, Db]]]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The session's cluster, up (all six members healthy); down afterwards."""
    deps = Path(os.environ.get("CLUSTER_DEPS_DIR") or tmp_path_factory.mktemp("cluster-deps"))
    made = Cluster.fresh(deps)
    try:
        made.start_deps("up")
    except Exception as exc:
        with contextlib.suppress(Exception):
            made.down()
        pytest.fail(f"the cluster did not come up: {exc}", pytrace=False)
    print(f"\ncluster: mongo {made.mongo_url}  kafka {made.kafka_url}  (DEPS_DIR {deps})")
    try:
        yield made
    finally:
        made.down()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cluster_client(cluster: Cluster) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """The tests' own client of the replica set (it waits out elections: 60 s selection)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        cluster.mongo_url, tz_aware=True, serverSelectionTimeoutMS=60_000,
    )
    await client.admin.command("ping")
    yield client
    await client.close()


@pytest_asyncio.fixture
async def start_cluster_stack(
    tmp_path: Path, cluster: Cluster, cluster_client: AsyncMongoClient[dict[str, Any]],
) -> AsyncIterator[StartClusterStack]:
    """`stack, db = await start_cluster_stack(**env)`: the three services on the cluster."""
    made: list[Stack] = []

    async def start(**env: str) -> tuple[Stack, Db]:
        stack = Stack(cluster.mongo_url, cluster.kafka_url, workdir=tmp_path / f"stack{len(made)}",
                      env={**CLUSTER_ENV, **env})
        made.append(stack)
        LIVE.append(stack)
        await asyncio.to_thread(stack.start)
        return stack, cluster_client[stack.database_name]

    yield start
    for stack in made:
        LIVE.remove(stack)
        await asyncio.to_thread(stack.stop)
        with contextlib.suppress(Exception):
            await cluster_client.drop_database(stack.database_name)
        with contextlib.suppress(Exception):
            admin = AIOKafkaAdminClient(bootstrap_servers=cluster.kafka_url)
            await admin.start()
            try:
                await admin.delete_topics([stack.base_env()["KAFKA_TOPIC"]])
            finally:
                await admin.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("cluster failover figures")
    for entry in FIGURES:
        terminalreporter.write_line(json.dumps(entry))
    path = os.environ.get("CLUSTER_FIGURES")
    if path:
        Path(path).write_text(json.dumps(FIGURES, indent=1) + "\n")
