"""API_MAX_QUEUED_RUNS: a manual trigger is 503 with Retry-After, storing nothing, while the
sampled queue of runs waiting for a runner is over the bound; a failed sample admits."""

from __future__ import annotations

import asyncio

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
from workflows_svc.admission import QueueBound
from workflows_svc.service import WorkflowService


def queued(workflow_id: str, clock: FakeClock) -> Workflow:
    return Workflow(workflow_id=workflow_id, created_at=clock.now(),
                    status=WorkflowStatus.SCHEDULED, trigger=Trigger(type=TriggerType.MANUAL),
                    actions=[LogAction(action_id=1, message="m")])


class FlakyDepth:
    """A queue depth whose count fails (the database unreachable)."""

    async def count_queued(self, *, limit: int) -> int:
        raise ConnectionError("no database")


@pytest.mark.parametrize(("bound", "full"), [(2, True), (3, False), (10, False)])
async def test_the_bound_is_full_when_more_runs_are_queued_than_it_admits(
    workflows: InMemoryWorkflowRepository, clock: FakeClock, bound: int, full: bool,
) -> None:
    for name in ("a", "b", "c"):
        await workflows.create(queued(name, clock))
    gate = QueueBound(workflows, max_queued=bound)
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
    gate = QueueBound(FlakyDepth(), max_queued=0)
    await gate.sample()
    assert not gate.full()


async def test_sampling_follows_the_queue_and_ends_with_its_context(
    workflows: InMemoryWorkflowRepository, clock: FakeClock,
) -> None:
    gate = QueueBound(workflows, max_queued=1, poll_s=0.01)
    async with gate.sampling():
        await workflows.create(queued("a", clock))
        await workflows.create(queued("b", clock))

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
