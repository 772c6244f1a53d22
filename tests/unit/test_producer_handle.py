"""ProducerHandle: a producer wedged by OutOfOrderSequenceNumber is replaced, once, and later
sends go through the fresh one (the cluster tier shows when aiokafka wedges)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from shared.adapters.kafka import KafkaPublisher, ProducerHandle
from shared.domain.errors import Unavailable
from shared.domain.models import ExecutionRequest
from tests.polling import eventually


class FakeProducer:
    def __init__(self, name: str, *, wedged: bool = False, start_fails: bool = False) -> None:
        self.name = name
        self.wedged = wedged
        self.start_fails = start_fails
        self.started = self.stopped = False
        self.sent: list[bytes] = []

    async def start(self) -> None:
        if self.start_fails:
            raise KafkaConnectionError("no broker")
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes, headers: object = None
    ) -> Any:
        return await (await self.send(topic, value, key=key, headers=headers))

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: object = None
    ) -> asyncio.Future[Any]:
        await asyncio.sleep(0)
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.wedged:  # as aiokafka: the batch's response carries the error
            delivery.set_exception(OutOfOrderSequenceNumber())
        else:
            self.sent.append(value)
            delivery.set_result(value)
        return delivery


def factory(*producers: FakeProducer) -> tuple[list[FakeProducer], Any]:
    made: list[FakeProducer] = []
    queue = list(producers)

    def make() -> FakeProducer:
        made.append(queue.pop(0))
        return made[-1]

    return made, make


async def test_a_wedged_producer_is_replaced_once_and_sends_go_on() -> None:
    made, make = factory(FakeProducer("first", wedged=True), FakeProducer("second"))
    handle = ProducerHandle(make)
    await handle.start()
    publisher = KafkaPublisher(handle, "topic", timeout_s=1)

    # concurrent sends meet the wedge: each fails as unavailable, one replacement only
    results = await asyncio.gather(
        *(publisher.publish(ExecutionRequest(workflow_id=f"w{i}", execution_id=f"e{i}"))
          for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, Unavailable) for r in results), results
    assert handle.replacements == 1 and [p.name for p in made] == ["first", "second"]

    await publisher.publish(ExecutionRequest(workflow_id="w", execution_id="e"))
    assert len(made[1].sent) == 1
    await handle.stop()
    assert made[0].stopped and made[1].stopped


async def test_a_failed_start_closes_what_it_opened() -> None:
    made, make = factory(FakeProducer("down", start_fails=True))
    handle = ProducerHandle(make)
    with pytest.raises(KafkaConnectionError):
        await handle.start()
    assert made[0].stopped


async def test_a_batch_that_meets_the_wedge_is_unacknowledged_and_the_producer_replaced(
) -> None:
    made, make = factory(FakeProducer("first", wedged=True), FakeProducer("second"))
    handle = ProducerHandle(make)
    await handle.start()
    publisher = KafkaPublisher(handle, "topic", timeout_s=1)
    batch = [ExecutionRequest(workflow_id=f"w{i}", execution_id=f"e{i}") for i in range(5)]

    acked = await publisher.publish_many(batch)
    # The first record met the wedge; records queued once the replacement was live went
    # through the fresh producer, in the same batch.
    assert acked[0] is False and acked.count(True) == len(made[1].sent if made[1:] else [])

    async def replaced() -> bool:
        return handle.replacements == 1

    await eventually(replaced, timeout_s=5, interval_s=0.001, what="the wedged producer replaced")
    assert await publisher.publish_many(batch) == [True] * 5
    assert [p.name for p in made] == ["first", "second"] and handle.replacements == 1
    await handle.stop()
    assert made[0].stopped and made[1].stopped
