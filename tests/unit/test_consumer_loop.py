"""ConsumerLoop over a fake MessageSource: concurrency, per-key order, commits, poison."""

from __future__ import annotations

import asyncio
import gc
from collections import defaultdict
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from runner_svc.consumer import ConsumerLoop
from runner_svc.poison import PoisonHandler
from shared.domain.codec import MAX_MESSAGE_BYTES
from shared.domain.models import ExecutionRequest
from tests.fakes import FakeDeadLetters, FakeMessageSource, message
from tests.polling import eventually

DEADLINE_S = 5.0


class Recorder:
    """A handler recording requests by tag (their execution_id); tags in `blocked` wait."""

    def __init__(self, blocked: set[str] | None = None, raising: set[str] | None = None):
        self.blocked = blocked or set()
        self.raising = raising or set()
        self.gates: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.started: list[str] = []
        self.finished: list[str] = []
        self.by_workflow: defaultdict[str, list[str]] = defaultdict(list)

    async def __call__(self, request: ExecutionRequest) -> None:
        tag = request.execution_id or ""
        self.started.append(tag)
        if tag in self.blocked:
            await self.gates[tag].wait()
        if tag in self.raising:
            raise RuntimeError(f"handler failed on {tag} (scripted)")
        self.finished.append(tag)
        self.by_workflow[request.workflow_id].append(tag)


def errors(reason: str) -> float:
    return REGISTRY.get_sample_value("consumer_errors_total", {"reason": reason}) or 0.0


async def until(predicate: Callable[[], object], what: str) -> None:
    async def probe() -> bool:
        return bool(predicate())

    await eventually(probe, timeout_s=DEADLINE_S, interval_s=0.01, what=what)


async def committed_at(loop: ConsumerLoop, source: FakeMessageSource, partition: int,
                       offset: int) -> None:
    async def probe() -> bool:
        await loop.commit()
        return source.committed.get(partition) == offset

    await eventually(probe, timeout_s=DEADLINE_S, interval_s=0.01,
                     what=f"commit of {partition}:{offset}")


async def test_different_keys_run_concurrently_up_to_the_limit() -> None:
    source = FakeMessageSource([[message(i, f"wf-{i}") for i in range(6)]])
    running, peak = 0, 0
    full, release = asyncio.Event(), asyncio.Event()
    done: list[str] = []

    async def handle(request: ExecutionRequest) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 3:
            full.set()
        await release.wait()
        running -= 1
        done.append(request.workflow_id)

    loop = ConsumerLoop(source=source, handle=handle, concurrency=3, fetch_timeout_s=0.02)
    task = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(full.wait(), timeout=DEADLINE_S)  # three overlap
        assert running == 3  # and no fourth started while the slots are taken
        release.set()
        await until(lambda: len(done) == 6, "all six handled")
    finally:
        loop.stop()
        await asyncio.wait_for(task, timeout=DEADLINE_S)
    assert peak == 3
    assert source.committed == {0: 6}


async def test_same_key_runs_strictly_in_order_other_keys_meanwhile() -> None:
    batch = [message(i, "wf", tag=str(i)) for i in range(5)] + [message(5, "other", tag="x")]
    source = FakeMessageSource([batch])
    handler = Recorder(blocked={"0", "1", "2", "3", "4"})
    loop = ConsumerLoop(source=source, handle=handler)

    await loop.run_once()

    await until(lambda: handler.by_workflow["other"] == ["x"], "other key handled")

    def wf_started() -> list[str]:
        return [t for t in handler.started if t != "x"]

    async def until_started(count: int) -> None:
        await until(lambda: len(wf_started()) >= count, f"{count} started")

    for i in range(5):
        await until_started(i + 1)
        assert wf_started() == [str(j) for j in range(i + 1)]
        assert handler.by_workflow["wf"] == [str(j) for j in range(i)]
        handler.gates[str(i)].set()
    await until(lambda: len(handler.by_workflow["wf"]) == 5, "all five handled")
    assert handler.by_workflow["wf"] == ["0", "1", "2", "3", "4"]
    await committed_at(loop, source, 0, 6)


async def test_commit_point_waits_for_the_slowest_in_flight_offset() -> None:
    source = FakeMessageSource([[message(i, f"wf-{i}", tag=str(i)) for i in range(5)]])
    handler = Recorder(blocked={"2"})
    loop = ConsumerLoop(source=source, handle=handler)

    await loop.run_once()
    await until(lambda: sorted(handler.finished) == ["0", "1", "3", "4"], "fast ones done")
    await committed_at(loop, source, 0, 2)
    await loop.commit()
    assert max(c[0] for c in source.commits) == 2

    handler.gates["2"].set()
    await committed_at(loop, source, 0, 5)


# Records json.loads fails on with RecursionError / a bare ValueError (issue 13, #8).
HOSTILE = [
    (b"[" * 60_000, "too_deep"),
    (b"1" * 5_000, "number_too_long"),
    (b'{"workflow_id": "w", "n": ' + b"9" * 5_000 + b"}", "number_too_long"),
]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty"),
        (b"not json {", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'{"execution_id": "e"}', "no_workflow_id"),
        (b'{"workflow_id": ""}', "no_workflow_id"),
        (b'{"workflow_id": "w", "pad": "' + b"x" * MAX_MESSAGE_BYTES + b'"}', "too_large"),
        *HOSTILE,
    ],
)
async def test_poison_message_is_counted_skipped_and_committed(
    value: bytes | None, reason: str
) -> None:
    source = FakeMessageSource([[message(0, "wf", value=value), message(1, "wf", tag="ok")]])
    handler = Recorder()
    loop = ConsumerLoop(source=source, handle=handler)
    before = errors(reason)

    await loop.run_once()
    await loop.drain()

    assert errors(reason) == before + 1
    assert handler.finished == ["ok"]
    assert source.committed == {0: 2}
    source.feed([message(2, "wf", tag="later")])
    await loop.run_once()
    await loop.drain()
    assert handler.finished == ["ok", "later"]
    assert source.committed == {0: 3}


async def test_hostile_records_leave_no_unretrieved_task_exception() -> None:
    batch = [message(i, "wf", value=v) for i, (v, _) in enumerate(HOSTILE)]
    source = FakeMessageSource([[*batch, message(len(batch), "wf", tag="ok")]])
    handler = Recorder()
    reported: list[dict[str, object]] = []
    event_loop = asyncio.get_running_loop()
    previous = event_loop.get_exception_handler()
    event_loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        loop = ConsumerLoop(source=source, handle=handler)
        await loop.run_once()
        await loop.drain()
        del loop
        gc.collect()  # a task whose exception nobody retrieved reports it when collected
    finally:
        event_loop.set_exception_handler(previous)

    assert reported == []
    assert handler.finished == ["ok"]
    assert source.committed == {0: len(batch) + 1}


async def test_poison_records_go_to_the_dead_letter_sink_unchanged_with_their_reason() -> None:
    poison = [message(0, "wf", value=b"not json"), message(1, "wf", value=b"[" * 60_000)]
    source = FakeMessageSource([[*poison, message(2, "wf", tag="ok")]])
    sink = FakeDeadLetters()
    loop = ConsumerLoop(source=source, handle=Recorder(), on_poison=PoisonHandler(sink))

    await loop.run_once()
    await loop.drain()

    assert sink.sent == [(poison[0], "not_json"), (poison[1], "too_deep")]
    assert source.committed == {0: 3}


async def test_a_poison_record_is_committed_only_once_the_dead_letter_write_succeeds() -> None:
    source = FakeMessageSource([[message(0, "bad", value=b"{oops"),
                                 message(1, "other", tag="other")]])
    sink = FakeDeadLetters(failures=1_000_000)
    handler = Recorder()
    handler_of_poison = PoisonHandler(sink, retry_initial_s=0.0, retry_max_s=0.001)
    loop = ConsumerLoop(source=source, handle=handler, on_poison=handler_of_poison)
    failed_before = REGISTRY.get_sample_value(
        "consumer_dead_letters_total", {"outcome": "failed"}) or 0.0

    await loop.run_once()
    await until(lambda: sink.attempts >= 5 and handler.finished == ["other"],
                "retries, the other key handled")
    await loop.commit()
    assert source.committed.get(0, 0) == 0  # not committed while it is not stored
    assert sink.sent == []

    sink.failures = 0
    await committed_at(loop, source, 0, 2)
    assert [reason for _, reason in sink.sent] == ["not_json"]
    failed = REGISTRY.get_sample_value("consumer_dead_letters_total", {"outcome": "failed"})
    assert (failed or 0.0) - failed_before >= 5


async def test_an_unforeseen_decode_failure_is_counted_and_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(value: bytes | None) -> ExecutionRequest:
        raise MemoryError("decoder ran out of memory (scripted)")

    monkeypatch.setattr("runner_svc.poison.decode_request", explode)
    source = FakeMessageSource([[message(0, "wf")]])
    loop = ConsumerLoop(source=source, handle=Recorder())
    before = errors("undecodable")

    await loop.run_once()
    await loop.drain()

    assert errors("undecodable") == before + 1
    assert source.committed == {0: 1}


async def test_a_failing_handler_does_not_stop_the_loop() -> None:
    source = FakeMessageSource([[message(0, "wf", tag="bad"), message(1, "wf", tag="good")]])
    handler = Recorder(raising={"bad"})
    loop = ConsumerLoop(source=source, handle=handler, fetch_timeout_s=0.02)
    before = errors("handler")

    task = asyncio.create_task(loop.run())
    try:
        await until(lambda: source.committed.get(0) == 2, "both committed")
    finally:
        loop.stop()
        await asyncio.wait_for(task, timeout=DEADLINE_S)
    assert handler.finished == ["good"]
    assert errors("handler") == before + 1


async def test_drain_waits_for_in_flight_work_then_commits() -> None:
    source = FakeMessageSource([[message(0, "wf", tag="a"), message(1, "wf", tag="b")]])
    handler = Recorder()
    loop = ConsumerLoop(source=source, handle=handler)

    await loop.run_once()
    assert handler.finished == []  # dispatched, not yet run
    await loop.drain()

    assert handler.finished == ["a", "b"]
    assert source.committed == {0: 2}


async def test_stop_finishes_in_flight_work_and_commits() -> None:
    source = FakeMessageSource([[message(0, "wf", tag="slow")]])
    handler = Recorder(blocked={"slow"})
    loop = ConsumerLoop(source=source, handle=handler, fetch_timeout_s=0.02)
    task = asyncio.create_task(loop.run())
    await until(lambda: handler.started == ["slow"], "handler started")
    empty_before = source.empty_fetches

    loop.stop()
    # The fetch after stop() returns nothing and the loop goes straight to draining.
    await until(lambda: source.empty_fetches > empty_before, "last fetch")
    assert not task.done(), "run() returned with a request still in flight"
    assert source.committed.get(0, 0) == 0

    handler.gates["slow"].set()
    await asyncio.wait_for(task, timeout=DEADLINE_S)
    assert handler.finished == ["slow"]
    assert source.committed == {0: 1}


async def test_drain_of_revoked_partitions_leaves_the_others_running() -> None:
    source = FakeMessageSource([[
        message(0, "wf-a", partition=0, tag="a"), message(0, "wf-b", partition=1, tag="b"),
    ]])
    handler = Recorder(blocked={"a", "b"})
    loop = ConsumerLoop(source=source, handle=handler)
    await loop.run_once()
    await until(lambda: sorted(handler.started) == ["a", "b"], "both started")

    handler.gates["a"].set()
    await asyncio.wait_for(loop.drain({0}), timeout=DEADLINE_S)

    assert handler.finished == ["a"]
    assert source.committed == {0: 1, 1: 0}
    handler.gates["b"].set()
    await loop.drain()
    assert handler.finished == ["a", "b"]
    assert source.committed == {0: 1, 1: 1}
