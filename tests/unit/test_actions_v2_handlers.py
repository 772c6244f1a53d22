"""Actions v2 handlers with fakes: the run context, templated log and http requests, the
recorded response, secrets masked, kafka-publish (SPEC sections 9 and 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from structlog.testing import capture_logs

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.context import run_context
from runner_svc.actions.http.outbound import outbound
from runner_svc.actions.http.recorded import recorded_response
from runner_svc.actions.kafka_publish import KafkaPublishHandler
from runner_svc.actions.log import LogHandler
from runner_svc.secrets import EnvironmentSecrets
from shared.actions import HttpRequestAction, KafkaPublishAction, LogAction
from shared.domain.execution_record import with_run
from shared.domain.models import ActionResult, ActionResultStatus, Execution
from shared.domain.run_context import RunContext
from tests.fakes import manual_workflow
from tests.fakes.clock import FakeClock

OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED
CONTEXT = RunContext(
    execution_id="e-1", attempt=2, workflow_id="wf", workflow_version=1,
    input={"customer": "acme", "limit": 10},
    actions={"fetch": {"response": {"status": 200, "body": {"items": [{"id": 7}]}}}},
)


def test_secrets_come_from_wfa_secret_variables_only() -> None:
    source = EnvironmentSecrets({"WFA_SECRET_API_TOKEN": "t0k", "WFA_SECRET_": "x", "PATH": "/"})
    assert source.read() == {"API_TOKEN": "t0k"}


def test_the_context_holds_the_last_successful_response_of_each_action() -> None:
    clock = FakeClock()
    workflow = manual_workflow("wf", clock, kinds=("http-request", "log"))
    execution = Execution(id="e-9", workflow_id="wf", created_at=clock.now(), retries=4,
                          total_actions=2, attempt=1)
    answer = {"status": 200, "content_type": "application/json", "body": {"n": 1}}
    execution = with_run(execution, workflow.actions[0], ActionResult(
        action_id=1, status=OK, logs="...", response=answer))

    context = run_context(workflow, execution)

    assert (context.execution_id, context.attempt, context.workflow_id) == ("e-9", 1, "wf")
    assert context.roots()["actions"] == {"action-1": {"response": answer}}
    assert context.render("${actions.action-1.response.body.n}").value == 1
    assert execution.actions["action-1"].runs[0].response == answer  # recorded by with_run


async def test_log_message_is_templated_and_its_level_is_used() -> None:
    action = LogAction(action_id=1, message="hi ${input.customer} #${execution.attempt}",
                       level="warning")
    with capture_logs() as logs:
        result = await LogHandler().run(action, CONTEXT)
    assert (result.status, result.logs) == (OK, "stdout: hi acme #2")
    assert [e["log_level"] for e in logs if e["event"] == "log action"] == ["warning"]


async def test_a_reference_that_finds_nothing_fails_the_action_with_its_path() -> None:
    action = LogAction(action_id=1, message="${actions.fetch.response.body.items[3].id}")
    result = await LogHandler().run(action, CONTEXT)
    assert result.status == FAILED
    assert "actions.fetch.response.body.items[3].id" in result.logs


async def test_secrets_are_rendered_for_the_action_and_masked_in_what_is_recorded() -> None:
    seen: list[str] = []

    class Echo:
        async def run(self, action: Any, context: RunContext) -> ActionResult:
            rendered = context.render(action.message).value
            seen.append(rendered)
            return ActionResult(action_id=1, status=OK, logs=f"sent {rendered}",
                                response={"body": {"echo": rendered}})

    dispatcher = ActionDispatcher(
        {"log": Echo()}, secrets=EnvironmentSecrets({"WFA_SECRET_TOKEN": "s3cr3t"}))
    result = await dispatcher.run(LogAction(action_id=1, message="Bearer ${secrets.TOKEN}"),
                                  CONTEXT)

    assert seen == ["Bearer s3cr3t"]
    assert result.logs == "sent Bearer ***"
    assert result.response == {"body": {"echo": "Bearer ***"}}
    assert "s3cr3t" not in result.model_dump_json()


async def test_an_unknown_secret_fails_the_action_clearly() -> None:
    dispatcher = ActionDispatcher({"log": LogHandler()}, secrets=EnvironmentSecrets({}))
    result = await dispatcher.run(LogAction(action_id=1, message="${secrets.NOPE}"), CONTEXT)
    assert result.status == FAILED
    assert "secret 'NOPE' is not set (WFA_SECRET_NOPE" in result.logs


def test_the_outbound_request_merges_query_renders_headers_and_encodes_the_body() -> None:
    action = HttpRequestAction(
        action_id=2, name="notify", method="POST",
        url="https://api.test/c/${input.customer}?a=1",
        query={"limit": "${input.limit}", "flag": True},
        headers={"X-Id": "${actions.fetch.response.body.items[0].id}"},
        body={"customer": "${input.customer}", "n": "${input.limit}"},
    )
    request = outbound(action, CONTEXT)
    assert request.url == "https://api.test/c/acme?a=1&limit=10&flag=true"
    assert request.headers == {"X-Id": "7", "content-type": "application/json",
                               "idempotency-key": "e-1:notify"}
    assert json.loads(request.content or b"") == {"customer": "acme", "n": 10}


def test_a_string_body_is_sent_as_is_with_its_content_type() -> None:
    action = HttpRequestAction(action_id=3, method="PUT", url="https://api.test/",
                               body="a,b\n${input.customer}", content_type="text/csv")
    request = outbound(action, CONTEXT)
    assert (request.content, request.headers["content-type"]) == (b"a,b\nacme", "text/csv")
    assert request.headers["idempotency-key"] == "e-1:action-3"


@pytest.mark.parametrize(("expect", "status", "ok"), [
    (None, 399, True), (None, 404, False), ([200], 201, False), (["2xx"], 204, True),
    ([404, "5xx"], 404, True), ([404, "5xx"], 503, True), (["2XX"], 302, False),
])
def test_expect_status(expect: list[int | str] | None, status: int, ok: bool) -> None:
    action = HttpRequestAction(action_id=1, method="GET", url="https://a.test/",
                               expect_status=expect)
    assert action.expects(status) is ok


def test_the_recorded_response_parses_json_and_caps_text() -> None:
    assert recorded_response(200, "application/json", b'{"a": [1]}', max_bytes=100,
                             complete=True) == {
        "status": 200, "content_type": "application/json", "body": {"a": [1]}}
    assert recorded_response(200, "text/plain", b"hello", max_bytes=100, complete=True)[
        "body"] == "hello"
    capped = recorded_response(200, "application/json", b'{"a": "long"}', max_bytes=5,
                               complete=True)
    assert capped == {"status": 200, "content_type": "application/json", "body": '{"a":',
                      "truncated": True}
    assert recorded_response(200, None, b"x", max_bytes=5, complete=False)["truncated"]


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, Any]] = []

    async def send_and_wait(self, topic: str, value: bytes, *, key: bytes | None,
                            headers: list[tuple[str, bytes]] | None = None) -> Any:
        self.sent.append((topic, value, key, headers))
        return type("Meta", (), {"partition": 0, "offset": 41})()


async def test_kafka_publish_sends_the_rendered_record() -> None:
    producer = FakeProducer()
    handler = KafkaPublishHandler(producer, allowed=("reports.*",), reserved=frozenset())
    action = KafkaPublishAction(action_id=1, topic="reports.daily", key="${input.customer}",
                                value={"n": "${input.limit}"}, headers={"src": "${workflow.id}"})
    result = await handler.run(action, CONTEXT)
    assert result.status == OK
    assert result.response == {"topic": "reports.daily", "partition": 0, "offset": 41}
    assert producer.sent == [("reports.daily", b'{"n": 10}', b"acme", [("src", b"wf")])]


async def test_kafka_publish_refuses_a_topic_the_runner_does_not_allow() -> None:
    producer = FakeProducer()
    handler = KafkaPublishHandler(producer, allowed=("reports.*",),
                                  reserved=frozenset({"reports.exec"}))
    for topic in ("audit", "reports.exec"):
        result = await handler.run(KafkaPublishAction(action_id=1, topic=topic, value=1), CONTEXT)
        assert result.status == FAILED and "not allowed" in result.logs
    assert producer.sent == []
