"""(b) A Kafka broker is killed (kill -9), then the leader of the execution topic's partition
0, under load; each comes back before the next fault (the cluster tolerates one lost broker:
replication factor 3, min.insync.replicas 2)."""

from __future__ import annotations

import pytest

from tests.cluster import scenario
from tests.cluster.cluster import Cluster, Fault
from tests.cluster.conftest import StartClusterStack
from tests.target_server import TargetServer

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


async def test_broker_kill_then_kill_of_the_partition_leader(
    cluster: Cluster, start_cluster_stack: StartClusterStack, target: TargetServer,
) -> None:
    async def kill_a_follower(topic: str) -> list[Fault]:
        leader = await cluster.kafka_leader(topic, 0)
        follower = next(f"kafka{i}" for i in (1, 2, 3) if f"kafka{i}" != leader)
        return [await cluster.kill9(follower)]

    async def kill_the_leader(topic: str) -> list[Fault]:
        return [await cluster.kill9(await cluster.kafka_leader(topic, 0))]

    await scenario.run("kafka-failover", cluster, start_cluster_stack, target,
                       [kill_a_follower, kill_the_leader])
