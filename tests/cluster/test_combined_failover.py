"""(c) The MongoDB primary and the leader of the execution topic's partition 0 killed at
once (kill -9 both), under load."""

from __future__ import annotations

import asyncio

import pytest

from tests.cluster import scenario
from tests.cluster.cluster import Cluster, Fault
from tests.cluster.conftest import StartClusterStack
from tests.target_server import TargetServer

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


async def test_primary_and_partition_leader_killed_at_once(
    cluster: Cluster, start_cluster_stack: StartClusterStack, target: TargetServer,
) -> None:
    async def kill_both(topic: str) -> list[Fault]:
        primary, leader = await cluster.mongo_primary(), await cluster.kafka_leader(topic, 0)
        return list(await asyncio.gather(cluster.kill9(primary), cluster.kill9(leader)))

    await scenario.run("both-failover", cluster, start_cluster_stack, target, [kill_both])
