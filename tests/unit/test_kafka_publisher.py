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
    """A QueueingRecordSender whose answer per workflow id is scripted: ack, hang, fail, or
    (in `refuse`) an error when the record is queued."""

    def __init__(self, *, hang: set[str] = frozenset(), fail: dict[str, Exception] | None = None,
                 refuse: dict[str, Exception] | None = None) -> None:
        self.hang, self.fail, self.refuse = hang, fail or {}, refuse or {}
        self.started: list[str] = []
        self.acked: list[str] = []
        self.deliveries: dict[str, asyncio.Future[Any]] = {}

    @property
    def cancelled(self) -> list[str]:
        """The records whose ack the publisher stopped awaiting."""
        return [w for w, delivery in self.deliveries.items() if delivery.cancelled()]

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: object = None
    ) -> asyncio.Future[Any]:
        workflow_id = key.decode()
        await asyncio.sleep(0)
        if workflow_id in self.refuse:
            raise self.refuse[workflow_id]
        self.started.append(workflow_id)
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.deliveries[workflow_id] = delivery
        if workflow_id in self.fail:
            asyncio.get_running_loop().call_soon(self._fail, workflow_id, delivery)
        elif workflow_id not in self.hang:
            asyncio.get_running_loop().call_soon(self._ack, workflow_id, delivery)
        return delivery

    def _ack(self, workflow_id: str, delivery: asyncio.Future[Any]) -> None:
        if not delivery.done():
            self.acked.append(workflow_id)
            delivery.set_result(None)

    def _fail(self, workflow_id: str, delivery: asyncio.Future[Any]) -> None:
        if not delivery.done():
            delivery.set_exception(self.fail[workflow_id])

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes, headers: object = None
    ) -> Any:
        return await (await self.send(topic, value, key=key, headers=headers))


def requests(*workflow_ids: str) -> list[ExecutionRequest]:
    return [ExecutionRequest(workflow_id=w, execution_id=f"{w}-e") for w in workflow_ids]


async def test_each_record_is_acknowledged_on_its_own_within_one_deadline() -> None:
    sender = ScriptedSender(hang={"b"}, fail={"d": KafkaConnectionError("gone")})
    publisher = KafkaPublisher(sender, "t", timeout_s=0.2)

    acked = await publisher.publish_many(requests("a", "b", "c", "d"))

    assert acked == [True, False, True, False]
    assert sorted(sender.acked) == ["a", "c"]
    assert sender.cancelled == ["b"]  # the late ack is no longer awaited


async def test_records_are_queued_one_after_the_other_and_their_acks_awaited_together(
) -> None:
    sender = ScriptedSender(hang={"a", "b", "c"})
    publisher = KafkaPublisher(sender, "t", timeout_s=60)
    batch = asyncio.ensure_future(publisher.publish_many(requests("a", "b", "c")))

    async def all_queued() -> bool:
        return sender.started == ["a", "b", "c"]

    # None acknowledged yet, all three queued: the next is not held back by an earlier ack.
    await eventually(all_queued, timeout_s=5, interval_s=0.001, what="all three queued")
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch


async def test_records_not_queued_before_the_broker_refused_count_as_unacknowledged(
) -> None:
    sender = ScriptedSender(refuse={"b": KafkaConnectionError("no metadata")})
    publisher = KafkaPublisher(sender, "t", timeout_s=1)

    acked = await publisher.publish_many(requests("a", "b", "c"))

    assert acked == [True, False, False]
    assert sender.started == ["a"]  # nothing queued after the refusal


async def test_a_deadline_passing_while_queueing_leaves_the_rest_unqueued() -> None:
    sender = ScriptedSender(hang={"a"})
    publisher = KafkaPublisher(sender, "t", timeout_s=0.05)
    real_send = sender.send

    async def slow_after_first(topic: str, value: bytes, *, key: bytes,
                               headers: object = None) -> asyncio.Future[Any]:
        if sender.started:
            await asyncio.Event().wait()  # a full buffer or no metadata: send() waits
        return await real_send(topic, value, key=key, headers=headers)

    sender.send = slow_after_first  # type: ignore[method-assign]
    assert await publisher.publish_many(requests("a", "b", "c")) == [False, False, False]
    assert sender.started == ["a"] and sender.cancelled == ["a"]


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
