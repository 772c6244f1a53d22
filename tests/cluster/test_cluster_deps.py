"""start-deps.sh --cluster itself, on the session's cluster: status names every member and
their roles, env lists every member, a second up starts nothing; and the execution topic the
services create on it has three replicas and min.insync.replicas=2."""

from __future__ import annotations

import re
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.adapters.connect import ensure_execution_topic
from shared.infra.settings import Settings
from tests.cluster.cluster import Cluster
from tests.polling import eventually

pytestmark = pytest.mark.cluster


def test_status_env_and_a_second_up(cluster: Cluster) -> None:
    status = cluster.start_deps("status")
    for i, port in enumerate(cluster.mongo_ports, start=1):
        assert re.search(rf"^mongo{i}: up .*127\.0\.0\.1:{port} .*(PRIMARY|SECONDARY)", status,
                         re.M), status
    for i, port in enumerate(cluster.kafka_ports, start=1):
        assert re.search(rf"^kafka{i}: up .*127\.0\.0\.1:{port} ", status, re.M), status
    assert len(re.findall(r"PRIMARY of replset", status)) == 1, status
    assert re.search(r"^mongo: up +mode=cluster .*MongoDB 6\.0\.\d+ replset=rs0", status, re.M)
    assert re.search(r"^kafka: up +mode=cluster .*3 brokers answer", status, re.M), status

    env = cluster.start_deps("env")
    assert f"export DATABASE_URL={cluster.mongo_url}\n" in env, env
    assert f"export KAFKA_URL={cluster.kafka_url}\n" in env, env
    assert cluster.mongo_url.count(",") == 2 and "replicaSet=rs0" in cluster.mongo_url

    pids = {m: cluster.pid(m) for m in ("mongo1", "mongo2", "mongo3", "kafka1", "kafka2",
                                        "kafka3")}
    cluster.start_deps("up")
    assert {m: cluster.pid(m) for m in pids} == pids, "a second up replaced a member"


async def test_execution_topic_is_replicated_three_times_with_min_isr_two(
    cluster: Cluster,
) -> None:
    topic = f"exec-{uuid.uuid4().hex[:8]}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, kafka_url=cluster.kafka_url, kafka_topic=topic,
        kafka_replication_factor=3, kafka_min_insync_replicas=2,
    )
    await ensure_execution_topic(settings)

    async def described() -> list[int]:  # the brokers' metadata follows the creation shortly
        return await cluster.replicas(topic)

    assert set(await eventually(described, timeout_s=30, interval_s=0.2,
                                what=f"{topic} in the metadata")) == {3}
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.kafka_url)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)])
        configs = {name: value for response in described for resource in response.resources
                   for name, value, *_ in resource[4]}
        await admin.delete_topics([topic])
    finally:
        await admin.close()
    assert configs.get("min.insync.replicas") == "2", configs
