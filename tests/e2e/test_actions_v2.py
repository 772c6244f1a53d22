"""Actions v2 end to end (real processes): an action using a value from an earlier action's
JSON answer, a secret that never appears in the API's answers or the services' logs, and a
non-retryable status that fails the execution at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from tests.e2e.helpers import api_client, create_and_trigger, unique_id, wait_finished
from tests.e2e.stacks import StartStack
from tests.harness import Stack
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e
SECRET = "sk-e2e-0123456789abcdef"


@pytest.fixture(scope="module")
def secret_stack(start_stack: StartStack) -> Iterator[Stack]:
    """A stack whose runner has `${secrets.API_TOKEN}` in its environment; real backoff."""
    with start_stack(label="actions2", env={"WFA_SECRET_API_TOKEN": SECRET,
                                            "RETRY_BACKOFF_SCALE": "1"}) as stack:
        yield stack


@pytest_asyncio.fixture
async def client(secret_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(secret_stack.api) as http:
        yield http


async def test_an_action_uses_a_value_from_the_json_answer_of_an_earlier_one(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-chain")
    items = target.can(workflow_id, json.dumps({"items": [{"id": 4711}, {"id": 2}]}).encode(),
                       {"content-type": "application/json"})
    await create_and_trigger(client, workflow_id, [
        {"name": "fetch", "type": "http-request", "method": "GET", "url": items},
        {"name": "use", "type": "http-request", "method": "POST",
         "url": f"{target.url}/echo?wf={workflow_id}",
         "query": {"id": "${actions.fetch.response.body.items[0].id}"},
         "body": {"id": "${actions.fetch.response.body.items[0].id}",
                  "execution": "${execution.id}"}},
    ])
    [execution] = await wait_finished(client, workflow_id)

    assert execution["status"] == "ok", execution
    (got,) = [r for r in target.received_at("/echo") if r.query.get("wf") == workflow_id]
    assert got.query["id"] == "4711"
    assert json.loads(got.body) == {"id": 4711, "execution": execution["id"]}
    assert got.headers["idempotency-key"] == f"{execution['id']}:use"


async def test_a_secret_is_sent_but_never_shown(
    client: httpx.AsyncClient, target: TargetServer, secret_stack: Stack
) -> None:
    workflow_id = unique_id("e2e-secret")
    await create_and_trigger(client, workflow_id, [
        {"name": "call", "type": "http-request", "method": "GET",
         "url": f"{target.url}/echo?wf={workflow_id}",
         "headers": {"Authorization": "Bearer ${secrets.API_TOKEN}"}},
        {"type": "log", "message": "token is ${secrets.API_TOKEN}"},
    ])
    [execution] = await wait_finished(client, workflow_id)

    assert execution["status"] == "ok", execution
    (got,) = [r for r in target.received_at("/echo") if r.query.get("wf") == workflow_id]
    assert got.headers["authorization"] == f"Bearer {SECRET}"
    answers = [
        (await client.get(f"/executions/{execution['id']}")).text,
        (await client.get(f"/workflows/{workflow_id}/executions")).text,
        (await client.get(f"/workflows/{workflow_id}")).text,
    ]
    assert all(SECRET not in answer for answer in answers)
    assert execution["executed_actions"][1]["logs"] == "stdout: token is ***"
    assert SECRET not in secret_stack.logs()


async def test_a_non_retryable_status_fails_the_execution_at_once(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    workflow_id = unique_id("e2e-final")
    body = {"workflowId": workflow_id, "trigger": {"type": "manual"},
            "retry": {"max_attempts": 4, "non_retryable_statuses": [404]},
            "actions": [{"type": "http-request", "method": "GET",
                         "url": f"{target.url}/status/404?wf={workflow_id}"}]}
    assert (await client.post("/workflows", json=body)).status_code == 201
    assert (await client.post(f"/workflows/{workflow_id}/trigger")).status_code == 200

    # Without the policy the first retry would wait 4 s (RETRY_BACKOFF_SCALE=1 here).
    [execution] = await wait_finished(client, workflow_id, timeout_s=3.5)

    assert (execution["status"], execution["retries"]) == ("failed", 0)
    assert [a["status"] for a in execution["executed_actions"]] == ["failed"]
    calls = [r for r in target.received_at("/status/404") if r.query.get("wf") == workflow_id]
    assert len(calls) == 1
