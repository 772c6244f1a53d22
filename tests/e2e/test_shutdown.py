"""SIGTERM: each service stops cleanly (exit status 0), the runner finishing its work."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.helpers import http_action, unique_id
from tests.e2e.stacks import StartStack
from tests.harness import ServiceProcess, Stack
from tests.polling import eventually_sync
from tests.target_server import TargetServer

pytestmark = pytest.mark.e2e
EXIT_TIMEOUT_S = 30


@pytest.fixture
def doomed_stack(start_stack: StartStack) -> Iterator[Stack]:
    """A stack of its own: this test stops it."""
    with start_stack(label="shutdown") as stack:
        yield stack


def _sigterm(service: ServiceProcess) -> int:
    assert service.proc is not None
    service.signal(signal.SIGTERM)
    return service.proc.wait(timeout=EXIT_TIMEOUT_S)


def test_sigterm_stops_each_service_cleanly(
    doomed_stack: Stack, target: TargetServer
) -> None:
    services = doomed_stack.services
    workflow_id = unique_id("e2e-shutdown")
    with httpx.Client(base_url=doomed_stack.api, timeout=15.0) as client:
        created = client.post("/workflows", json={
            "workflowId": workflow_id, "trigger": {"type": "manual"},
            "actions": [http_action(f"{target.url}/slow?ms=3000")],
        })
        assert created.status_code == 201, created.text
        assert client.post(f"/workflows/{workflow_id}/trigger").status_code == 200
        eventually_sync(
            lambda: client.get(f"/workflows/{workflow_id}").json()["status"] == "locked",
            timeout_s=15, what="the runner to start the slow run",
        )

        # The runner stops taking work but finishes the run in flight before exiting.
        assert _sigterm(services["runner_svc"]) == 0
        [execution] = client.get(f"/workflows/{workflow_id}/executions").json()["items"]
        assert execution["status"] == "ok"
        state = client.get(f"/workflows/{workflow_id}").json()
        assert state["status"] == "active"
        assert state["trigger"]["status"] is None

    assert _sigterm(services["scheduler_svc"]) == 0
    assert _sigterm(services["workflows_svc"]) == 0
