"""KafkaPublisher.publish_many: one deadline for a batch, each record acknowledged on its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from shared.adapters.kafka import KafkaPublisher
from shared.domain.models import ExecutionRequest
from tests.polling import eventually


class ScriptedSender:
    """A RecordSender whose answer per workflow id is scripted: ack, hang or fail."""

    def __init__(self, *, hang: set[str] = frozenset(), fail: dict[str, Exception] | None = None
                 ) -> None:
        self.hang, self.fail = hang, fail or {}
        self.started: list[str] = []
        self.acked: list[str] = []
        self.cancelled: list[str] = []

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes, headers: object = None
    ) -> Any:
        workflow_id = key.decode()
        self.started.append(workflow_id)
        await asyncio.sleep(0)
        if workflow_id in self.fail:
            raise self.fail[workflow_id]
        if workflow_id in self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.append(workflow_id)
                raise
        self.acked.append(workflow_id)


def requests(*workflow_ids: str) -> list[ExecutionRequest]:
    return [ExecutionRequest(workflow_id=w, execution_id=f"{w}-e") for w in workflow_ids]


async def test_each_record_is_acknowledged_on_its_own_within_one_deadline() -> None:
    sender = ScriptedSender(hang={"b"}, fail={"d": KafkaConnectionError("gone")})
    publisher = KafkaPublisher(sender, "t", timeout_s=0.2)

    acked = await publisher.publish_many(requests("a", "b", "c", "d"))

    assert acked == [True, False, True, False]
    assert sorted(sender.acked) == ["a", "c"]
    assert sender.cancelled == ["b"]  # the late send is not left running


async def test_an_empty_batch_sends_nothing() -> None:
    assert await KafkaPublisher(ScriptedSender(), "t", timeout_s=1).publish_many([]) == []


async def test_an_error_that_is_not_kafkas_is_raised_not_counted_as_unacknowledged() -> None:
    sender = ScriptedSender(fail={"b": ValueError("a bug")})
    publisher = KafkaPublisher(sender, "t", timeout_s=1)

    with pytest.raises(ValueError, match="a bug"):
        await publisher.publish_many(requests("a", "b"))


async def test_a_cancelled_batch_cancels_its_sends() -> None:
    sender = ScriptedSender(hang={"a", "b"})
    publisher = KafkaPublisher(sender, "t", timeout_s=60)
    batch = asyncio.ensure_future(publisher.publish_many(requests("a", "b")))

    async def both_started() -> bool:
        return len(sender.started) == 2

    await eventually(both_started, timeout_s=5, interval_s=0.001, what="both sends started")
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch

    assert sorted(sender.cancelled) == ["a", "b"]
