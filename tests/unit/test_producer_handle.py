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
        await asyncio.sleep(0)
        if self.wedged:
            raise OutOfOrderSequenceNumber()
        self.sent.append(value)
        return value


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
