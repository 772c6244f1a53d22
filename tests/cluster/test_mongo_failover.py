"""(a) The MongoDB primary steps down, then the new primary is killed (kill -9), under load."""

from __future__ import annotations

import pytest

from tests.cluster import scenario
from tests.cluster.cluster import Cluster, Fault
from tests.cluster.conftest import StartClusterStack
from tests.target_server import TargetServer

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


async def test_primary_step_down_then_kill_of_the_new_primary(
    cluster: Cluster, start_cluster_stack: StartClusterStack, target: TargetServer,
) -> None:
    async def step_down(_: str) -> list[Fault]:
        return [await cluster.step_down_primary()]

    async def kill_new_primary(_: str) -> list[Fault]:
        return [await cluster.kill9(await cluster.mongo_primary())]

    outcome = await scenario.run("mongo-failover", cluster, start_cluster_stack, target,
                                 [step_down, kill_new_primary])
    step, kill = outcome.figures
    assert step.member != kill.member, "the second fault must hit the new primary"
