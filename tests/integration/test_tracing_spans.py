"""Tracing through real Kafka, in one process with an in-memory span exporter: the API's
request span, the runner's execution span and its action spans share one trace id, the
context crossing Kafka in the record's headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.log import LogHandler
from runner_svc.consumer import ConsumerLoop
from runner_svc.worker import ExecutionWorker
from shared.adapters.clock import SystemClock
from shared.adapters.kafka import KafkaPublisher
from shared.adapters.kafka_consumer import KafkaMessageSource, make_consumer
from shared.adapters.memory import InMemoryExecutionRepository, InMemoryWorkflowRepository
from shared.infra.settings import Settings
from shared.infra.tracing import tracing_provider
from tests.polling import eventually
from workflows_svc.app import Wired, create_app
from workflows_svc.service import WorkflowService

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Every finished span of this process, kept in memory."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    installed = trace.get_tracer_provider()
    if isinstance(installed, TracerProvider):  # a provider is set once per process
        installed.add_span_processor(processor)
    else:
        tracing_provider("tracing-test", endpoint=None, processor=processor)
    yield exporter
    exporter.clear()


@pytest_asyncio.fixture
async def pipeline(
    kafka_url: str, topic: str, producer: AIOKafkaProducer,
) -> AsyncIterator[httpx.AsyncClient]:
    """The API app on in-memory stores producing to Kafka, and a runner consuming it."""
    workflows, executions = InMemoryWorkflowRepository(), InMemoryExecutionRepository()
    clock = SystemClock()
    service = WorkflowService(
        workflows=workflows, executions=executions, clock=clock, trigger_rate_limit=0,
        publisher=KafkaPublisher(producer, topic, timeout_s=10),
    )
    worker = ExecutionWorker(workflows=workflows, executions=executions, clock=clock,
                             actions=ActionDispatcher({"log": LogHandler()}))

    def wiring(_: Settings) -> object:
        async def wired() -> AsyncIterator[Wired]:
            yield Wired(service)
        return asynccontextmanager(wired)()

    app = create_app(Settings(otel_exporter_otlp_endpoint="http://127.0.0.1:9"), wiring)
    source = KafkaMessageSource(make_consumer(kafka_url, f"g-{topic}"), topic)
    loop = ConsumerLoop(source=source, handle=worker.run, concurrency=4, fetch_timeout_s=0.2)
    await source.start(loop.drain)
    task = asyncio.create_task(loop.run())
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api"
        ) as client:
            yield client
    finally:
        loop.stop()
        async with asyncio.timeout(30):
            await task
        await source.stop()


def _named(finished: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name.startswith(prefix)]


async def test_the_trigger_request_and_the_runners_spans_are_one_trace(
    spans: InMemorySpanExporter, pipeline: httpx.AsyncClient,
) -> None:
    body = {"workflowId": "traced", "trigger": {"type": "manual"},
            "actions": [{"type": "log", "message": "one"}, {"type": "log", "message": "two"}]}
    assert (await pipeline.post("/workflows", json=body)).status_code == 201
    assert (await pipeline.post("/workflows/traced/trigger")).status_code == 200

    async def two_actions_traced() -> bool:
        return len(_named(spans.get_finished_spans(), "action ")) >= 2

    await eventually(two_actions_traced, timeout_s=30, what="the runner's action spans")
    finished = spans.get_finished_spans()
    request = next(s for s in finished if s.name == "POST /workflows/{workflow_id}/trigger"
                   and s.kind == trace.SpanKind.SERVER)
    execution = next(s for s in _named(finished, "execution")
                     if (s.attributes or {}).get("workflow.id") == "traced")
    actions = [s for s in _named(finished, "action ")
               if s.parent is not None and s.parent.span_id == execution.context.span_id]
    assert request.context.trace_id == execution.context.trace_id
    assert execution.parent is not None and execution.parent.trace_id == request.context.trace_id
    assert [a.attributes["action.id"] for a in actions if a.attributes] == [1, 2]
    assert {a.context.trace_id for a in actions} == {request.context.trace_id}
