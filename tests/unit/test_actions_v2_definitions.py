"""Create-time checks of Actions v2 through the API: 400s that name the action and field,
nothing stored; the new fields stored as given (SPEC sections 9 and 11)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.actions.rules import ActionRules
from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.domain.retry_policy import RetrySpec
from tests.fakes.clock import FakeClock
from workflows_svc.service import WorkflowService

FETCH = {"name": "fetch", "type": "http-request", "method": "GET",
         "url": "https://api.test/orders", "expect_status": ["2xx"]}


@pytest.fixture
def service(workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository,
            publisher: InMemoryPublisher, clock: FakeClock) -> WorkflowService:
    return WorkflowService(
        workflows=workflows, executions=executions, publisher=publisher, clock=clock,
        action_rules=ActionRules(max_timeout_s=10, allowed_topics=("audit", "reports.*"),
                                 reserved_topics=frozenset({"workflow.execution"})),
    )


def body(*actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"workflowId": "wf", "trigger": {"type": "manual"}, "actions": list(actions), **extra}


@pytest.mark.parametrize(("actions", "fragment"), [
    ([{"type": "log", "message": "${input.customer}"}],
     "actions[0] (action-1).message: ${input.customer}: input 'customer' is not declared"),
    ([{"type": "log", "message": "${nope.x}"}], "unknown root 'nope'"),
    ([FETCH, {"type": "log", "message": "${actions.missing.response.status}"}],
     "unknown action 'missing'"),
    ([{"type": "log", "name": "first", "message": "${actions.fetch.response.status}"}, FETCH],
     "actions[0] (first).message: ${actions.fetch.response.status}: action 'fetch' is not "
     "an ancestor"),
    ([FETCH, {"type": "log", "depends_on": [], "message": "${actions.fetch.response.body}"}],
     "not an ancestor"),
    ([FETCH, {"type": "log", "depends_on": ["nobody"], "message": "x"}],
     "depends on unknown action(s) ['nobody']"),
    ([{**FETCH, "depends_on": ["fetch"]}], "action 'fetch' depends on itself"),
    ([FETCH, {**FETCH}], "action name 'fetch' is used twice"),
    ([{**FETCH, "timeout_s": 11}], "actions[0] (fetch).timeout_s: at most HTTP_TIMEOUT_S (10s)"),
    ([{**FETCH, "headers": {"Authorization": "Bearer ${secrets.API_TOKEN.x}"}}],
     "actions[0] (fetch).headers"),
    ([{"type": "kafka-publish", "topic": "payments", "value": 1}],
     "actions[0] (action-1).topic: 'payments' is not in KAFKA_PUBLISH_ALLOWED"),
    ([{"type": "kafka-publish", "topic": "workflow.execution", "value": 1}],
     "'workflow.execution' is the service's own topic"),
])
async def test_a_definition_that_cannot_run_is_400_naming_it_and_not_stored(
    api: httpx.AsyncClient, actions: list[dict[str, Any]], fragment: str
) -> None:
    response = await api.post("/workflows", json=body(*actions))
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]
    assert (await api.get("/workflows/wf")).status_code == 404


@pytest.mark.parametrize("bad", [
    {"type": "log", "message": "m", "level": "debug"},
    {**FETCH, "expect_status": ["2xy"]},
    {**FETCH, "expect_status": [99]},
    {**FETCH, "headers": {"bad header": "v"}},
    {**FETCH, "timeout_s": 0},
    {**FETCH, "retry": {"max_attempts": 0}},
    {**FETCH, "name": "Upper"},
    {"type": "kafka-publish", "topic": "bad topic!", "value": 1},
])
async def test_malformed_v2_fields_are_400(api: httpx.AsyncClient, bad: dict[str, Any]) -> None:
    response = await api.post("/workflows", json=body(bad))
    assert response.status_code == 400, response.text


async def test_v2_fields_are_stored_as_given(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository
) -> None:
    use = {"name": "use", "type": "http-request", "method": "POST", "depends_on": ["fetch"],
           "url": "https://api.test/items/${actions.fetch.response.body.items[0].id}",
           "query": {"at": "${execution.attempt}"}, "headers": {"X-A": "b"},
           "body": {"wf": "${workflow.id}", "token": "${secrets.API_TOKEN}"},
           "follow_redirects": False, "timeout_s": 2, "retry": {"max_attempts": 2}}
    publish = {"type": "kafka-publish", "topic": "reports.daily", "key": "${workflow.id}",
               "value": {"status": "${actions.use.response.status}"}, "depends_on": ["use"]}
    retry = {"max_attempts": 5, "initial_interval_s": 2, "backoff_coefficient": 2,
             "max_interval_s": 300, "non_retryable_statuses": [400, 404]}
    response = await api.post("/workflows", json=body(FETCH, use, publish, retry=retry))
    assert response.status_code == 201, response.text

    stored = await workflows.get("wf")
    assert stored is not None
    assert stored.retry == RetrySpec(**retry)
    fetch, used, published = stored.actions
    assert (fetch.name, used.depends_on, published.depends_on) == ("fetch", ["fetch"], ["use"])
    assert used.model_dump(include={"query", "headers", "body", "follow_redirects", "timeout_s"}) \
        == {k: use[k] for k in ("query", "headers", "body", "follow_redirects", "timeout_s")}
    assert used.retry == RetrySpec(max_attempts=2)
    assert published.type == "kafka-publish"
