"""Tracing end to end: the three services export over OTLP/HTTP to a local receiver, and one
execution is one trace from the API's request span to the runner's action spans; the
http-request action's outbound call carries that trace's `traceparent`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.helpers import (
    api_client,
    create_workflow,
    http_action,
    log_action,
    run_once,
    unique_id,
)
from tests.e2e.stacks import StartStack
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    yield server
    server.stop()


def _trace_of(spans: list[ReceivedSpan], execution_id: str) -> list[ReceivedSpan]:
    """Every span of the trace whose runner span names this execution."""
    ids = {s.trace_id for s in spans if s.attributes.get("execution.id") == execution_id}
    return [s for s in spans if s.trace_id in ids]


async def test_one_execution_is_one_trace_from_the_api_to_each_action(
    start_stack: StartStack, receiver: OtlpReceiver, target: TargetServer,
) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with start_stack(label="tracing", env=env) as stack:
        async with api_client(stack.api) as client:
            workflow_id = unique_id("traced")
            execution = await run_once(
                client, workflow_id, [log_action("first"), http_action(f"{target.url}/ok")]
            )
            assert execution["status"] == "ok"

            async def whole_trace() -> bool:
                names = {s.name for s in _trace_of(receiver.spans, execution["id"])}
                return {"execution", "action log", "action http-request"} <= names and any(
                    n.startswith("POST /workflows/") for n in names
                )

            await eventually(whole_trace, timeout_s=20, what="the execution's spans exported")
            scheduled = await _one_scheduled_run(client)

            async def scheduled_trace() -> bool:
                return "execution" in {s.name for s in _trace_of(receiver.spans, scheduled)}

            await eventually(scheduled_trace, timeout_s=20, what="the scheduled run's spans")

    trace = _trace_of(receiver.spans, execution["id"])
    assert len({s.trace_id for s in trace}) == 1
    services = {s.service for s in trace}
    assert {"workflows_svc", "runner_svc"} <= services
    by_id = {s.span_id: s for s in trace}
    run = next(s for s in trace if s.name == "execution")
    assert by_id[run.parent_span_id].service == "workflows_svc"  # the API's span is its parent
    actions = [s for s in trace if s.name.startswith("action ")]
    assert all(a.parent_span_id == run.span_id for a in actions)
    traceparents = [h.get("traceparent", "") for path, h in target.requests if path == "/ok"]
    assert any(tp.split("-")[1] == run.trace_id for tp in traceparents if tp)
    # A scheduled run's trace starts at the scheduler's publish span.
    trace = _trace_of(receiver.spans, scheduled)
    by_id = {s.span_id: s for s in trace}
    run = next(s for s in trace if s.name == "execution")
    assert by_id[run.parent_span_id].service == "scheduler_svc"
    assert by_id[run.parent_span_id].name.startswith("publish ")


async def _one_scheduled_run(client: httpx.AsyncClient) -> str:
    """Create a 1 s periodic workflow; the id of its first finished execution."""
    workflow_id = unique_id("traced-tick")
    await create_workflow(client, workflow_id, [log_action("tick")],
                          trigger={"type": "periodic", "interval": "1s"})

    async def first_done() -> str | None:
        page = (await client.get(f"/workflows/{workflow_id}/executions?status=ok")).json()
        return page["items"][0]["id"] if page["items"] else None

    execution_id = await eventually(first_done, timeout_s=20, what="a scheduled run")
    await client.delete(f"/workflows/{workflow_id}")
    return str(execution_id)


async def test_tracing_is_off_without_an_endpoint(
    stack: object, client: httpx.AsyncClient, target: TargetServer,
) -> None:
    before = len(target.requests)
    execution = await run_once(client, unique_id("untraced"), [http_action(f"{target.url}/ok")])
    assert execution["status"] == "ok"
    sent = [h for _, h in target.requests[before:]]
    assert sent and not any("traceparent" in h for h in sent)
