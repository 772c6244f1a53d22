"""ConsumerLoop's commit interval: offsets committed at most every interval, always on a drain."""

from __future__ import annotations

import asyncio

from runner_svc.consumer import ConsumerLoop
from shared.domain.models import ExecutionRequest
from tests.fakes import FakeMessageSource, message
from tests.polling import eventually


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


async def handled_all(handled: list[str], count: int) -> None:
    async def probe() -> bool:
        return len(handled) >= count

    await eventually(probe, timeout_s=5.0, interval_s=0.01, what=f"{count} handled")


def a_loop(source: FakeMessageSource, handled: list[str], clock: FakeClock,
           interval_s: float) -> ConsumerLoop:
    async def handle(request: ExecutionRequest) -> None:
        handled.append(request.workflow_id)

    return ConsumerLoop(source=source, handle=handle, fetch_timeout_s=0.01,
                        commit_interval_s=interval_s, clock=clock)


async def test_fetches_within_the_interval_commit_nothing_the_first_after_it_commits() -> None:
    source, clock = FakeMessageSource([[message(0, "wf-0")]]), FakeClock()
    handled: list[str] = []
    loop = a_loop(source, handled, clock, interval_s=1.0)

    await loop.run_once()
    await handled_all(handled, 1)
    source.feed([message(1, "wf-1")])
    clock.now_s += 0.5
    await loop.run_once()
    await handled_all(handled, 2)
    await loop.run_once()  # an empty fetch, still within the interval
    assert source.commits == []

    clock.now_s += 0.5
    await loop.run_once()
    assert source.commits == [{0: 2}]
    clock.now_s += 0.5
    source.feed([message(2, "wf-2")])
    await loop.run_once()
    await handled_all(handled, 3)
    await loop.run_once()
    assert source.commits == [{0: 2}]  # the interval starts again at the last commit


async def test_a_drain_commits_whatever_the_interval() -> None:
    source = FakeMessageSource([[message(0, "wf-0"), message(1, "wf-1")]])
    handled: list[str] = []
    clock = FakeClock()
    loop = a_loop(source, handled, clock, interval_s=3600.0)

    await loop.run_once()
    await handled_all(handled, 2)
    assert source.commits == []
    await loop.drain()
    assert source.committed == {0: 2}


async def test_a_stopped_loop_commits_on_its_way_out() -> None:
    source, clock = FakeMessageSource([[message(0, "wf-0")]]), FakeClock()
    handled: list[str] = []
    loop = a_loop(source, handled, clock, interval_s=3600.0)
    task = asyncio.create_task(loop.run())
    await handled_all(handled, 1)

    loop.stop()
    await asyncio.wait_for(task, timeout=5.0)

    assert source.committed == {0: 1}


async def test_interval_zero_commits_after_every_fetch() -> None:
    source, clock = FakeMessageSource([[message(0, "wf-0")]]), FakeClock()
    handled: list[str] = []
    loop = a_loop(source, handled, clock, interval_s=0.0)

    await loop.run_once()
    await handled_all(handled, 1)
    await loop.run_once()
    source.feed([message(1, "wf-1")])
    await loop.run_once()
    await handled_all(handled, 2)
    await loop.run_once()

    # each fetch commits below what is still in flight: 0 while the first is handled
    assert source.commits == [{0: 0}, {0: 1}, {0: 2}]
