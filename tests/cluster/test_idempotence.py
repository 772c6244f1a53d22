"""Is aiokafka 0.14.0's idempotent producer safe here? (README "Running on a cluster".)

Each test sends continuously through our producer (`ProducerHandle` over `make_producer(...,
idempotent=True)`) while a broker goes away and comes back, and asserts that sends succeed
again afterwards and that no value reached the topic twice. Next to it runs a bare aiokafka
idempotent producer with the request timeout the services used before (5 s); whether that
one wedged (every send failing with OutOfOrderSequenceNumber) is reported, not asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.adapters.kafka import ProducerHandle, RecordSender, ensure_topic, make_producer
from tests.cluster.cluster import Cluster, free_low_ports
from tests.cluster.conftest import FIGURES
from tests.conftest import deps_install_dir, run_start_deps
from tests.polling import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(420)]
SEND_TIMEOUT_S = 5.0  # as KAFKA_SEND_TIMEOUT_S
GAP_S = 0.01  # one send every 10 ms per producer: some partition always has a batch queued


@dataclass
class Pump:
    """Sends unique values (keys spread over the partitions) until stopped; every outcome."""

    name: str
    sender: RecordSender
    topic: str
    outcomes: list[tuple[float, str]] = field(default_factory=list)
    values: list[bytes] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> Pump:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _one(self, i: int) -> None:
        value = f"{self.name}-{i}".encode()
        began = time.monotonic()
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await self.sender.send_and_wait(self.topic, value, key=b"k%d" % (i % 24))
            outcome = "ok"
        except Exception as exc:
            outcome = type(exc).__name__
        self.outcomes.append((began, outcome))
        if outcome == "ok":
            self.values.append(value)

    async def _run(self) -> None:
        pending: set[asyncio.Task[None]] = set()
        i = 0
        while not self._stop.is_set():
            task = asyncio.create_task(self._one(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), GAP_S)  # the send rate
        if pending:
            await asyncio.wait(pending)

    def flowing_since(self, since: float) -> bool:
        """Every send started in the last second (and after `since`) succeeded."""
        now = time.monotonic()
        recent = [o for t, o in self.outcomes if t >= max(since, now - 1.5) and t <= now - 0.5]
        return bool(recent) and all(o == "ok" for o in recent)

    def errors(self, after: float = 0.0) -> dict[str, int]:
        return dict(Counter(o for t, o in self.outcomes if o != "ok" and t >= after))

    def wedged(self) -> bool:
        """The last two seconds' sends all failed with OutOfOrderSequenceNumber."""
        last = self.outcomes[-1][0] if self.outcomes else 0.0
        tail = [o for t, o in self.outcomes if t >= last - 2]
        return bool(tail) and all(o == "OutOfOrderSequenceNumber" for o in tail)


class BareProducer:
    """aiokafka's producer as such (nothing replaces it when it wedges)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> object:
        return await self.producer.send_and_wait(topic, value, key=key, headers=headers)


async def _values_on(bootstrap: str, topic: str) -> Counter[bytes]:
    """How often each value is on the topic (read from the start to the end offsets)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        async def assigned() -> bool:
            return bool(consumer.assignment())

        await eventually(assigned, timeout_s=30, what=f"{topic} assigned")
        ends = await consumer.end_offsets(list(consumer.assignment()))
        seen: Counter[bytes] = Counter()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                seen.update(r.value for r in records if r.value is not None)
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= ends[tp] for tp in ends):
                return seen
        raise AssertionError(f"could not read {topic} to its end within 60 s")
    finally:
        await consumer.stop()


def _twice(values: Counter[bytes], prefix: bytes) -> int:
    return sum(n - 1 for v, n in values.items() if v.startswith(prefix) and n > 1)


async def _pumps(bootstrap: str, topic: str) -> tuple[ProducerHandle, BareProducer]:
    ours = ProducerHandle(lambda: make_producer(bootstrap, idempotent=True))
    await ours.start()
    bare = BareProducer(AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
        request_timeout_ms=int(SEND_TIMEOUT_S * 1000), linger_ms=0, retry_backoff_ms=100))
    await bare.producer.start()
    return ours, bare


def _quiet_aiokafka() -> None:
    # Thousands of "retrying" warnings while a broker is away say nothing the outcomes don't.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


async def _exercise(
    label: str, bootstrap: str, topic: str, outage: Callable[[], Awaitable[None]],
    restore: Callable[[], Awaitable[None]],
) -> dict[str, object]:
    """Pump through both producers, run `outage()` then `restore()`, until ours flows again."""
    _quiet_aiokafka()
    ours, bare = await _pumps(bootstrap, topic)
    pump = Pump("ours", ours, topic).start()
    bare_pump = Pump("bare", bare, topic).start()
    try:
        async def flowing() -> bool:
            return pump.flowing_since(0)

        await eventually(flowing, timeout_s=30, interval_s=0.2, what="sends flowing")
        fault_at = time.monotonic()
        await outage()
        await restore()
        back_at = time.monotonic()

        async def recovered() -> bool:
            return pump.flowing_since(back_at)

        await eventually(recovered, timeout_s=60, interval_s=0.2,
                         what="our idempotent producer sending again after the restart")
        flowing_after = time.monotonic() - back_at
        # a few seconds more, so that a wedged bare producer shows
        await asyncio.sleep(3)  # observation period, not a synchronisation
    finally:
        await pump.stop()
        await bare_pump.stop()
        await ours.stop()
        with contextlib.suppress(Exception):
            await bare.producer.stop()
    on_topic = await _values_on(bootstrap, topic)
    duplicates = _twice(on_topic, b"ours-")
    missing = sum(1 for v in pump.values if v not in on_topic)
    result: dict[str, object] = {
        "scenario": label, "sends": len(pump.outcomes), "acknowledged": len(pump.values),
        "errors": pump.errors(fault_at), "replacements": ours.replacements,
        "flowing_after_restore_s": round(flowing_after, 1),
        "duplicates_on_topic": duplicates, "acknowledged_missing": missing,
        "bare_producer_5s_timeout_wedged": bare_pump.wedged(),
        "bare_errors": bare_pump.errors(fault_at),
        "bare_duplicates_on_topic": _twice(on_topic, b"bare-"),
    }
    FIGURES.append(result)
    print(f"\n[idempotence] {result}")
    assert pump.flowing_since(back_at)
    assert duplicates == 0, f"{duplicates} values twice on {topic} despite idempotence"
    assert missing == 0, f"{missing} acknowledged values are not on {topic} (acks=all)"
    return result


async def test_idempotent_producer_rides_out_a_leader_kill_on_the_cluster(
    cluster: Cluster,
) -> None:
    topic = f"idem-cluster-{uuid.uuid4().hex[:8]}"
    await ensure_topic(cluster.kafka_url, topic, 6, replication_factor=3, min_insync_replicas=2)
    killed: list[str] = []

    async def outage() -> None:
        leader = await cluster.kafka_leader(topic, 0)
        await cluster.kill9(leader)
        killed.append(leader)

    async def restore() -> None:
        await cluster.up()
        await cluster.kafka_in_sync(topic)

    result = await _exercise("cluster: kill -9 of a partition leader", cluster.kafka_url, topic,
                             outage, restore)
    # A leader failover never leaves a partition leaderless, so nothing had to be replaced.
    assert result["replacements"] == 0, result


async def test_idempotent_producer_survives_a_single_broker_restart(tmp_path: Path) -> None:
    kafka_port, controller_port, mongo_port = free_low_ports(3)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_URL")}
    env.update(DEPS_DIR=str(tmp_path / "single"), DEPS_INSTALL_DIR=str(deps_install_dir()),
               DEPS_MODE="local", DEPS_CLUSTER="0", KAFKA_PORT=str(kafka_port),
               KAFKA_CONTROLLER_PORT=str(controller_port), MONGO_PORT=str(mongo_port))
    bootstrap = f"127.0.0.1:{kafka_port}"

    def deps(*args: str) -> None:
        run_start_deps(*args, "kafka", env=env, timeout=240)

    await asyncio.to_thread(deps, "up")
    try:
        topic = f"idem-single-{uuid.uuid4().hex[:8]}"
        await ensure_topic(bootstrap, topic, 6)

        async def outage() -> None:
            await asyncio.to_thread(deps, "down")  # TERM: controlled shutdown, no leader left

        async def restore() -> None:
            await asyncio.to_thread(deps, "up")

        await _exercise("single broker: stopped and started", bootstrap, topic, outage, restore)
    finally:
        await asyncio.to_thread(deps, "down")
