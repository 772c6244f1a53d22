"""The due dispatch's pages: read one ahead, claimed a batch at a time, and a stop that
leaves the later pages to the next scheduler with every claimed one sent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from scheduler_svc.due import in_parts, prefetched_pages
from shared.adapters.memory import InMemoryPublisher
from shared.domain.models import ExecutionRequest, WorkflowStatus
from tests.fakes import Harness, periodic_workflow


@pytest.fixture
def h() -> Harness:
    return Harness()


class Pages:
    """Pages of ints, 3 a page; records each `after` asked for; fails past `fail_after`."""

    def __init__(self, total: int, fail_after: int | None = None) -> None:
        self.items = list(range(total))
        self.asked: list[int | None] = []
        self.fail_after = fail_after

    async def fetch(self, after: int | None) -> list[int]:
        self.asked.append(after)
        start = 0 if after is None else after + 1
        if self.fail_after is not None and start > self.fail_after:
            raise ConnectionError("database unreachable (simulated)")
        return self.items[start:start + 3]


async def test_pages_run_until_a_short_one_reading_the_next_ahead() -> None:
    pages = Pages(8)
    seen = [page async for page in prefetched_pages(pages.fetch, 3)]

    assert seen == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert pages.asked == [None, 2, 5]


async def test_a_full_last_page_ends_with_an_empty_one() -> None:
    pages = Pages(6)
    assert [page async for page in prefetched_pages(pages.fetch, 3)] == [[0, 1, 2], [3, 4, 5]]
    assert pages.asked == [None, 2, 5]


async def test_a_page_read_ahead_and_not_wanted_raises_nothing() -> None:
    pages = Pages(9, fail_after=2)
    seen = []
    generator = prefetched_pages(pages.fetch, 3)
    async for page in generator:
        seen.append(page)
        await asyncio.sleep(0)  # the work on a page (a claim's round trip) lets it run
        assert pages.asked == [None, 2]  # read ahead (and failed) meanwhile
        break
    await generator.aclose()  # the unwanted page's error is not raised

    assert seen == [[0, 1, 2]]


class StopOnFirstSend(InMemoryPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.stop = lambda: None  # set to the scheduler's stop

    async def publish_many(self, requests: Sequence[ExecutionRequest]) -> list[bool]:
        self.stop()
        return await super().publish_many(requests)


async def test_a_stop_sends_what_was_claimed_and_leaves_the_rest(h: Harness) -> None:
    for i in range(10):
        await h.add(periodic_workflow(f"wf-{i:02d}", h.clock, interval_s=60))
    h.clock.advance(60)
    publisher = StopOnFirstSend()
    scheduler = h.scheduler(publisher=publisher, batch_size=2)
    publisher.stop = scheduler.stop

    report = await scheduler.run_once()

    sent = [r.workflow_id for r in publisher.published]
    assert 0 < report.dispatched == len(sent) < 10
    for i in range(10):
        stored = await h.workflows.get(f"wf-{i:02d}")
        assert stored is not None
        claimed = stored.status == WorkflowStatus.SCHEDULED
        assert claimed == (stored.workflow_id in sent), stored.workflow_id


async def test_claims_go_in_parts_at_once_with_results_in_order() -> None:
    calls: list[list[int]] = []

    async def double(part: list[int]) -> list[int]:
        calls.append(part)
        return [2 * n for n in part]

    assert await in_parts([1, 2, 3, 4, 5], double, parts=2) == [2, 4, 6, 8, 10]
    assert calls == [[1, 2, 3], [4, 5]]
    assert await in_parts([], double) == [] and len(calls) == 2
