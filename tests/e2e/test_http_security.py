"""http-request safety through the real services: credentials in URLs never come back over the
API or appear in the runner's log, and a runner with the default settings (no allow-list)
refuses the target server on loopback and its own /metrics."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.e2e.helpers import api_client, http_action, run_once, unique_id
from tests.e2e.stacks import StartStack
from tests.harness import Stack
from tests.target_server import TargetServer
from tests.v1 import v1_entries

pytestmark = pytest.mark.e2e
SECRET = "e2e-s3cret-pw"


async def test_credentials_in_a_url_are_used_but_never_recorded(
    client: httpx.AsyncClient, stack: Stack, target: TargetServer
) -> None:
    url = f"http://robot:{SECRET}@127.0.0.1:{target.port}/ok"
    before = len(target.requests)

    execution = await run_once(client, unique_id("e2e-creds"), [http_action(url)])

    assert v1_entries(execution["executed_actions"]) == [{
        "action_id": 1, "status": "ok",
        "logs": f"http://***@127.0.0.1:{target.port}/ok [STATUS 200] => "
                "hello from the target server",
    }]
    assert [h.get("authorization") for _, h in target.requests[before:]] == [
        "Basic cm9ib3Q6ZTJlLXMzY3JldC1wdw=="  # robot:e2e-s3cret-pw
    ]
    read_back = await client.get(f"/executions/{execution['id']}")
    assert SECRET not in json.dumps(read_back.json())
    runner_log = stack.services["runner_svc"].log_path
    assert SECRET not in await asyncio.to_thread(runner_log.read_text, errors="replace")


async def test_without_the_allow_list_loopback_and_the_runners_own_port_are_refused(
    start_stack: StartStack, target: TargetServer
) -> None:
    env = {"HTTP_ALLOW_NETWORKS": "", "EXECUTION_RETRIES": "1"}
    with start_stack(label="default-deny", env=env) as plain:
        metrics = f"{plain.services['runner_svc'].url}/metrics"
        urls = [f"{target.url}/ok", f"http://0.0.0.0:{target.port}/ok", metrics]
        before = target.hits["/ok"]
        async with api_client(plain.api) as http:
            results = [await run_once(http, unique_id("e2e-deny"), [http_action(url)])
                       for url in urls]

    for url, execution in zip(urls, results, strict=True):
        assert execution["status"] == "failed"
        [action] = execution["executed_actions"]
        assert action["logs"].startswith(f"{url} [STATUS 500] => denied: "), action["logs"]
    assert target.hits["/ok"] == before
