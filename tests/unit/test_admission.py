"""API_MAX_QUEUE_WAIT_MS: a manual trigger is 503 with Retry-After, storing nothing, while
more than a few sampled runs have waited longer than the bound for a runner; a failed sample
admits."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import pytest
from prometheus_client import REGISTRY

from shared.actions import LogAction
from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.domain.models import Trigger, TriggerType, Workflow, WorkflowStatus
from tests.fakes.clock import FakeClock
from tests.polling import eventually
from tests.unit.conftest import CreateWorkflow
from workflows_svc.admission import STRAGGLERS_ADMITTED, QueueBound
from workflows_svc.service import WorkflowService


def queued(workflow_id: str, clock: FakeClock) -> Workflow:
    """A run dispatched now, waiting for a runner."""
    return Workflow(workflow_id=workflow_id, created_at=clock.now(), scheduled_at=clock.now(),
                    status=WorkflowStatus.SCHEDULED, trigger=Trigger(type=TriggerType.MANUAL),
                    actions=[LogAction(action_id=1, message="m")])


async def enqueue(workflows: InMemoryWorkflowRepository, clock: FakeClock, count: int,
                  prefix: str) -> None:
    for number in range(count):
        await workflows.create(queued(f"{prefix}{number}", clock))


class FlakyDepth:
    """A queue depth whose count fails (the database unreachable)."""

    async def count_queued(self, *, older_than: datetime, limit: int) -> int:
        raise ConnectionError("no database")


@pytest.mark.parametrize(("waited_s", "long_waiters", "full"), [
    (0.6, STRAGGLERS_ADMITTED + 1, True),
    (0.6, STRAGGLERS_ADMITTED, False),   # a few stragglers (a lost request) shut nothing
    (0.5, STRAGGLERS_ADMITTED + 1, True),
    (0.4, STRAGGLERS_ADMITTED + 1, False),
])
async def test_the_bound_is_full_when_more_than_a_few_runs_waited_longer_than_it(
    workflows: InMemoryWorkflowRepository, clock: FakeClock, waited_s: float,
    long_waiters: int, full: bool,
) -> None:
    await enqueue(workflows, clock, long_waiters, "old")
    clock.advance(waited_s)
    await enqueue(workflows, clock, 20, "new")  # young ones count for nothing
    gate = QueueBound(workflows, clock, max_wait_ms=500)
    assert not gate.full(), "nothing sampled yet: admit"
    await gate.sample()
    shed_before = shed_total()
    assert gate.full() is full
    assert shed_total() == shed_before, "asking whether it is full sheds nothing"
    assert gate.sheds() is full
    assert shed_total() == shed_before + (1 if full else 0)


def shed_total() -> float:
    return REGISTRY.get_sample_value("triggers_shed_total") or 0.0


async def test_a_failed_count_admits() -> None:
    gate = QueueBound(FlakyDepth(), FakeClock(), max_wait_ms=1)
    await gate.sample()
    assert not gate.full()


async def test_sampling_follows_the_queue_and_ends_with_its_context(
    workflows: InMemoryWorkflowRepository, clock: FakeClock,
) -> None:
    gate = QueueBound(workflows, clock, max_wait_ms=100, poll_s=0.01)
    async with gate.sampling():
        await enqueue(workflows, clock, STRAGGLERS_ADMITTED + 1, "w")
        clock.advance(0.2)

        async def shut() -> bool:
            return gate.full()

        await eventually(shut, timeout_s=5.0, what="the bound sees the queue")
    # The context's exit awaited its sampling task: nothing of it is left running.
    assert all("QueueBound" not in repr(t.get_coro()) for t in asyncio.all_tasks())


@pytest.fixture
def queue_is_full() -> list[bool]:
    return [True]


@pytest.fixture
def service(
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
    publisher: InMemoryPublisher, clock: FakeClock, queue_is_full: list[bool],
) -> WorkflowService:
    """The conftest's service, with a queue bound the test sets."""
    return WorkflowService(workflows=workflows, executions=executions, publisher=publisher,
                           clock=clock, trigger_rate_limit=0,
                           shed_trigger=lambda: queue_is_full[0])


async def test_a_trigger_over_the_bound_is_503_with_retry_after_and_stores_nothing(
    api: httpx.AsyncClient, create_workflow: CreateWorkflow, publisher: InMemoryPublisher,
    workflows: InMemoryWorkflowRepository, queue_is_full: list[bool],
) -> None:
    await create_workflow("hello")

    refused = await api.post("/workflows/hello/trigger")

    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert "retry later" in refused.json()["error"]
    assert publisher.published == []
    stored = await workflows.get("hello")
    assert stored is not None and stored.status == WorkflowStatus.ACTIVE
    queue_is_full[0] = False
    assert (await api.post("/workflows/hello/trigger")).status_code == 200
    assert len(publisher.published) == 1
