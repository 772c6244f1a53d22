"""Lifecycle edge cases over live services (issue 13 #2, #4, #14)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest

from tests.e2e.helpers import (
    Json,
    create_and_trigger,
    create_workflow,
    executions,
    http_action,
    unique_id,
    workflow,
)
from tests.e2e.stacks import _drop_database
from tests.harness import Stack
from tests.polling import eventually, eventually_sync
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e
DEADLINE_S = 20.0


async def test_archiving_a_run_in_progress_that_then_fails_cancels_it(
    client: httpx.AsyncClient, target: TargetServer
) -> None:
    """Issue 13 #2: the failed attempt released into a retry no scheduler dispatches."""
    workflow_id = unique_id("e2e-archive-running")
    actions = [http_action(f"{target.url}/slow?ms=1500"), http_action(f"{target.url}/status/500")]
    await create_and_trigger(client, workflow_id, actions)

    async def locked() -> bool:
        return (await workflow(client, workflow_id))["status"] == "locked"

    await eventually(locked, timeout_s=DEADLINE_S, what="the runner's claim")
    deleted = await client.delete(f"/workflows/{workflow_id}")
    assert deleted.status_code == 204

    async def cancelled() -> Json | None:
        found = await executions(client, workflow_id)
        return found[0] if len(found) == 1 and found[0]["status"] == "cancelled" else None

    execution = await eventually(cancelled, timeout_s=DEADLINE_S, what="a cancelled execution")
    assert execution["finished_at"] is not None and execution["reason"]
    assert [a["status"] for a in execution["executed_actions"]] == ["ok", "failed"]
    state = await workflow(client, workflow_id)
    assert (state["status"], state["trigger"]["status"], state["trigger"]["next_run"]) == (
        "active", None, None
    )


async def test_a_forged_execution_cursor_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    """Issue 13 #4: year 9999 at -14:00 is past BSON's range in UTC (OverflowError)."""
    workflow_id = unique_id("e2e-cursor")
    await create_workflow(client, workflow_id, [{"type": "log", "message": "x"}])
    forged = {"t": "9999-12-31T23:59:59-14:00", "id": "x"}
    cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")

    response = await client.get(f"/workflows/{workflow_id}/executions", params={"cursor": cursor})

    assert response.status_code == 400, response.text
    assert "cursor" in response.json()["error"]


def test_the_scheduler_puts_execution_retention_in_place_at_startup(
    mongo_url: str, kafka_url: str, tmp_path: Path
) -> None:
    """Issue 13 #14: EXECUTION_RETENTION=30d -> a TTL index on executions.finished_at."""
    stack = Stack(mongo_url, kafka_url, workdir=tmp_path, env={"EXECUTION_RETENTION": "30d"})
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_url)
    try:
        stack.add("scheduler_svc")
        executions = client[stack.database_name]["executions"]

        def ttl_s() -> int | None:
            index = executions.index_information().get("finished_at_ttl")
            return None if index is None else int(index["expireAfterSeconds"])

        assert eventually_sync(ttl_s, timeout_s=DEADLINE_S, what="the TTL index") == 30 * 86_400
        assert executions.index_information()["finished_at_ttl"]["key"] == [("finished_at", 1)]
    finally:
        stack.stop()
        client.close()
        _drop_database(mongo_url, stack.database_name)
