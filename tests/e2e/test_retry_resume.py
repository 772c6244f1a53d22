"""A failed action waits for its backoff retry, blocks triggers meanwhile, then resumes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import httpx
import pytest
import pytest_asyncio

from tests.e2e.helpers import (
    Json,
    api_client,
    create_and_trigger,
    executions,
    http_action,
    log_action,
    trigger,
    unique_id,
    wait_finished,
    workflow,
)
from tests.e2e.stacks import StartStack
from tests.harness import Stack
from tests.polling import eventually
from tests.target_server import TargetServer
from tests.v1 import v1_entries

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def slow_retry_stack(start_stack: StartStack) -> Iterator[Stack]:
    """Real backoff (4 s before the first retry), so the pending window is observable."""
    with start_stack(label="slow-retry", env={"RETRY_BACKOFF_SCALE": "1"}) as stack:
        yield stack


@pytest_asyncio.fixture
async def slow_client(slow_retry_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(slow_retry_stack.api) as http:
        yield http


async def test_retry_resumes_at_the_failed_action(
    slow_client: httpx.AsyncClient, target: TargetServer
) -> None:
    client = slow_client
    workflow_id = unique_id("e2e-flaky")
    flaky_path = f"/flaky/{workflow_id}"
    await create_and_trigger(client, workflow_id, [
        log_action("first"), http_action(f"{target.url}{flaky_path}?fail=1"),
        log_action("third"),
    ])

    async def waiting_for_retry() -> tuple[Json, Json] | None:
        found = await executions(client, workflow_id)
        if len(found) != 1 or found[0]["retries"] != 3:
            return None
        state = await workflow(client, workflow_id)
        return (found[0], state) if state["trigger"]["status"] == "pending" else None

    pending, state = await eventually(waiting_for_retry, timeout_s=15, what="pending retry")
    assert pending["status"] == "pending"
    assert pending["last_failed_action"] == 2
    assert pending["finished_at"] is None
    assert [(a["action_id"], a["status"]) for a in pending["executed_actions"]] == [
        (1, "ok"), (2, "failed")
    ]
    assert state["status"] == "active"

    refused = await trigger(client, workflow_id)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["status"] == "pending"
    next_retry_at = datetime.fromisoformat(body["nextRetryAt"])
    assert next_retry_at.tzinfo is not None
    assert next_retry_at == datetime.fromisoformat(state["trigger"]["next_run"])

    [done] = await wait_finished(client, workflow_id, timeout_s=20)
    assert done["id"] == pending["id"]
    assert done["status"] == "ok"
    assert done["retries"] == 3
    assert done["finished_at"] is not None
    url = f"{target.url}{flaky_path}?fail=1"
    assert v1_entries(done["executed_actions"]) == [
        {"action_id": 1, "status": "ok", "logs": "stdout: first"},
        {"action_id": 2, "status": "failed", "logs": f"{url} [STATUS 503] => not yet"},
        {"action_id": 2, "status": "ok", "logs": f"{url} [STATUS 200] => finally"},
        {"action_id": 3, "status": "ok", "logs": "stdout: third"},
    ]
    assert target.hits[flaky_path] == 2
