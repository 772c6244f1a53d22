"""Actions v2 against real servers: http options checked by a target that records what it
received (headers, query, body, an idempotency key stable across attempts), the recorded
response, and kafka-publish read back by a consumer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.http.target_policy import TargetPolicy
from runner_svc.actions.http_request import HttpRequestHandler
from runner_svc.actions.kafka_publish import KafkaPublishHandler
from runner_svc.actions.log import LogHandler
from runner_svc.secrets import EnvironmentSecrets
from shared.actions import HttpRequestAction, KafkaPublishAction
from shared.domain.models import ActionResult, ActionResultStatus, ExecutionStatus
from shared.domain.retry_policy import RetrySpec
from shared.domain.run_context import RunContext
from tests.fakes import Harness, manual_workflow
from tests.integration.test_kafka_adapters import read_topic
from tests.target_server import TargetServer

BOUND_S = 20.0
OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED
CONTEXT = RunContext(execution_id="e-42", workflow_id="wf", input={"customer": "acme", "n": 3})
SECRETS = EnvironmentSecrets({"WFA_SECRET_API_TOKEN": "tok-very-secret"})


@pytest.fixture(scope="module")
def target() -> Iterator[TargetServer]:
    server = TargetServer().start()
    yield server
    server.stop()


def dispatcher(http: HttpRequestHandler) -> ActionDispatcher:
    return ActionDispatcher({"log": LogHandler(), "http-request": http}, secrets=SECRETS)


def handler(max_recorded_bytes: int = 65_536) -> HttpRequestHandler:
    # The target listens on loopback: no deny-list here (test_http_action_limits has it).
    return HttpRequestHandler(policy=TargetPolicy([]), timeout_s=5, max_response_bytes=1_048_576,
                              max_redirects=5, max_recorded_bytes=max_recorded_bytes)


async def run(action: HttpRequestAction, **options: int) -> ActionResult:
    async with handler(**options) as http, asyncio.timeout(BOUND_S):
        return await dispatcher(http).run(action, CONTEXT)


async def test_headers_query_and_json_body_reach_the_target(target: TargetServer) -> None:
    action = HttpRequestAction(
        action_id=1, name="send", method="POST", url=f"{target.url}/echo?fixed=1",
        headers={"X-Customer": "${input.customer}",
                 "Authorization": "Bearer ${secrets.API_TOKEN}"},
        query={"limit": "${input.n}"}, body={"customer": "${input.customer}", "n": "${input.n}"},
        expect_status=["2xx"],
    )
    result = await run(action)

    assert result.status == OK, result.logs
    (got,) = [r for r in target.received_at("/echo") if r.headers.get("x-customer") == "acme"]
    assert got.query == {"fixed": "1", "limit": "3"}
    assert got.headers["authorization"] == "Bearer tok-very-secret"
    assert got.headers["idempotency-key"] == "e-42:send"
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.body) == {"customer": "acme", "n": 3}
    # The recorded answer is the target's JSON, parsed, with the echoed secret masked.
    assert result.response is not None and result.response["status"] == 200
    assert result.response["content_type"] == "application/json"
    echoed = result.response["body"]
    assert echoed["headers"]["authorization"] == "Bearer ***"
    assert "tok-very-secret" not in result.model_dump_json()
    assert result.logs.startswith(f"{target.url}/echo?fixed=1&limit=3 [STATUS 200] => ")


async def test_a_string_body_is_sent_as_is_with_its_content_type(target: TargetServer) -> None:
    action = HttpRequestAction(action_id=2, method="PUT", url=f"{target.url}/echo?csv=1",
                               body="id,name\n1,${input.customer}", content_type="text/csv")
    result = await run(action)
    assert result.status == OK
    (got,) = [r for r in target.received_at("/echo") if r.query.get("csv") == "1"]
    assert (got.body, got.headers["content-type"]) == (b"id,name\n1,acme", "text/csv")


async def test_expect_status_redirects_and_the_recorded_cap(target: TargetServer) -> None:
    not_followed = HttpRequestAction(action_id=3, method="GET", follow_redirects=False,
                                     url=f"{target.url}/redirect-to?url=/ok")
    result = await run(not_followed)
    assert (result.status, result.response and result.response["status"]) == (OK, 302)

    strict = HttpRequestAction(action_id=4, method="GET", url=f"{target.url}/ok",
                               expect_status=[201])
    result = await run(strict, max_recorded_bytes=5)
    assert result.status == FAILED
    assert result.response == {"status": 200, "content_type": "text/plain; charset=utf-8",
                               "body": "hello", "truncated": True}
    # The v1 line keeps its 50-character preview, whatever is recorded.
    assert result.logs == f"{target.url}/ok [STATUS 200] => hello from the target server"


async def test_the_idempotency_key_is_the_same_on_every_attempt(target: TargetServer) -> None:
    h = Harness(backoff_scale=0)
    workflow = manual_workflow("wf", h.clock, kinds=("http-request",))
    flaky = f"{target.url}/flaky/idem?fail=2"
    workflow = workflow.model_copy(update={
        "actions": [HttpRequestAction(action_id=1, name="charge", method="POST", url=flaky,
                                      body={"amount": 5})],
        "retry": RetrySpec(max_attempts=4, initial_interval_s=0),
    })
    await h.add(workflow)
    async with handler() as http:
        worker = h.worker(dispatcher(http))  # type: ignore[arg-type]
        execution = await worker.run(await h.trigger("wf"))
        while execution is not None and execution.status == ExecutionStatus.PENDING:
            (retry,) = await h.dispatch_due()
            execution = await worker.run(retry)

    assert execution is not None and execution.status == ExecutionStatus.OK
    keys = [r.headers["idempotency-key"] for r in target.received_at("/flaky/idem")]
    assert keys == [f"{execution.id}:charge"] * 3
    runs = execution.actions["charge"].runs
    assert [r.response["status"] for r in runs if r.response] == [503, 503, 200]


async def test_kafka_publish_is_read_back_by_a_consumer(
    kafka_url: str, topic: str, producer: AIOKafkaProducer
) -> None:
    publish = KafkaPublishHandler(producer, allowed=(topic,),  # type: ignore[arg-type]
                                  reserved=frozenset())
    action = KafkaPublishAction(action_id=1, topic=topic, key="${input.customer}",
                                value={"customer": "${input.customer}", "n": "${input.n}"},
                                headers={"source": "${workflow.id}"})
    result = await publish.run(action, CONTEXT)

    assert result.status == OK, result.logs
    (record,) = await read_topic(kafka_url, topic, 1)
    assert (record.key, json.loads(record.value)) == (b"acme", {"customer": "acme", "n": 3})
    assert list(record.headers) == [("source", b"wf")]
    assert result.response == {"topic": topic, "partition": record.partition,
                               "offset": record.offset}
