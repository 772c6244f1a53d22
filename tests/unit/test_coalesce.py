"""Coalescer: concurrent submits written as one batch, each answered with its own result."""

from __future__ import annotations

import asyncio

import pytest

from shared.adapters.coalesce import Coalescer


class Store:
    """A flush that records its batches; "boom" items fail alone, a "down" batch as a whole."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.writing = asyncio.Event()

    async def flush(self, items: list[str]) -> list[str | Exception]:
        self.batches.append(list(items))
        self.writing.set()
        if self.gate is not None:
            await self.gate.wait()
        if "down" in items:
            raise ConnectionError("down")
        return [ValueError(i) if i == "boom" else i.upper() for i in items]


async def test_concurrent_submits_go_as_one_batch_and_get_their_own_results() -> None:
    store = Store()
    coalescer = Coalescer(store.flush)

    results = await asyncio.gather(*(coalescer.submit(f"i{n}") for n in range(10)))

    assert results == [f"I{n}" for n in range(10)]
    assert store.batches == [[f"i{n}" for n in range(10)]]


async def test_a_lone_submit_is_written_at_once_and_alone() -> None:
    store = Store()
    coalescer = Coalescer(store.flush)

    assert await coalescer.submit("a") == "A"
    assert await coalescer.submit("b") == "B"
    assert store.batches == [["a"], ["b"]]


async def test_submits_while_a_batch_is_written_wait_for_the_next_one() -> None:
    store = Store()
    store.gate = asyncio.Event()
    coalescer = Coalescer(store.flush, max_batch=3)
    first = asyncio.ensure_future(coalescer.submit("a"))
    await store.writing.wait()
    later = [asyncio.ensure_future(coalescer.submit(f"b{n}")) for n in range(4)]
    await asyncio.sleep(0)
    assert store.batches == [["a"]]  # one write at a time

    store.gate.set()

    assert await asyncio.gather(first, *later) == ["A", "B0", "B1", "B2", "B3"]
    assert store.batches == [["a"], ["b0", "b1", "b2"], ["b3"]]


async def test_an_item_error_is_raised_to_its_caller_only() -> None:
    coalescer = Coalescer(Store().flush)

    results = await asyncio.gather(
        coalescer.submit("a"), coalescer.submit("boom"), coalescer.submit("c"),
        return_exceptions=True,
    )

    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)


async def test_a_failed_flush_is_raised_to_every_caller_of_its_batch_and_the_next_writes() -> None:
    store = Store()
    coalescer = Coalescer(store.flush)

    results = await asyncio.gather(coalescer.submit("a"), coalescer.submit("down"),
                                   return_exceptions=True)

    assert all(isinstance(r, ConnectionError) for r in results)
    assert await coalescer.submit("b") == "B"


async def test_a_key_keeps_repeated_items_in_separate_batches() -> None:
    store = Store()
    coalescer = Coalescer(store.flush, key=lambda item: item[0])

    results = await asyncio.gather(*(coalescer.submit(i) for i in ["a1", "b1", "a2", "a3"]))

    assert results == ["A1", "B1", "A2", "A3"]
    assert store.batches == [["a1", "b1"], ["a2"], ["a3"]]


async def test_a_cancelled_caller_does_not_stop_its_batch() -> None:
    store = Store()
    store.gate = asyncio.Event()
    coalescer = Coalescer(store.flush)
    gone = asyncio.ensure_future(coalescer.submit("a"))
    kept = asyncio.ensure_future(coalescer.submit("b"))
    await store.writing.wait()

    gone.cancel()
    store.gate.set()

    assert await kept == "B"
    assert gone.cancelled()
    assert store.batches == [["a", "b"]]


async def test_a_flush_giving_too_few_results_fails_its_callers() -> None:
    async def short(items: list[str]) -> list[str | Exception]:
        return items[:-1]

    coalescer: Coalescer[str, str] = Coalescer(short)
    with pytest.raises(RuntimeError, match="gave 1 results"):
        await asyncio.gather(coalescer.submit("a"), coalescer.submit("b"))


def test_a_batch_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Coalescer(Store().flush, max_batch=0)


@pytest.mark.parametrize("fails_queued", [True, False])
async def test_an_outage_error_is_raised_unsent_to_the_items_queued_behind_it(
    fails_queued: bool,
) -> None:
    store = Store()
    store.gate = asyncio.Event()
    coalescer = Coalescer(
        store.flush,
        fails_queued=(lambda exc: isinstance(exc, ConnectionError)) if fails_queued else None,
    )
    first = asyncio.ensure_future(coalescer.submit("down"))
    await asyncio.wait_for(store.writing.wait(), 5)
    queued = asyncio.ensure_future(coalescer.submit("later"))
    await asyncio.sleep(0)  # let it queue behind the batch being written
    store.gate.set()

    with pytest.raises(ConnectionError):
        await first
    if fails_queued:
        with pytest.raises(ConnectionError):
            await queued
        assert store.batches == [["down"]]  # never sent
    else:
        assert await queued == "LATER"
        assert store.batches == [["down"], ["later"]]
