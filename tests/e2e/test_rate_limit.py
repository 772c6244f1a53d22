"""The manual-trigger rate limit, on a workflows_svc replica started with a limit of 3."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import (
    api_client,
    create_workflow,
    log_action,
    trigger,
    unique_id,
    wait_finished,
)
from tests.harness import Stack

pytestmark = pytest.mark.e2e
LIMIT = 3


@pytest.fixture(scope="module")
def limited_api(stack: Stack) -> Iterator[str]:
    """A second workflows_svc on the shared stack's database and topic, limit 3/min."""
    service = stack.add(
        "workflows_svc", name="workflows_svc-limited", env={"TRIGGER_RATE_LIMIT": str(LIMIT)}
    )
    yield service.url
    assert service.terminate(timeout_s=20) == 0


def _window() -> int:
    """The fixed one-minute window the service counts triggers in (same host clock)."""
    return int(time.time()) // 60


async def test_fourth_trigger_in_a_minute_is_rate_limited(limited_api: str) -> None:
    async with api_client(limited_api) as client:
        # A round that straddles a minute boundary proves nothing: the window resets. Rounds
        # take a few seconds, so the second one always fits inside one window.
        for _ in range(2):
            window = _window()
            workflow_id = unique_id("e2e-rate")
            await create_workflow(client, workflow_id, [log_action("limited")])
            for accepted in range(1, LIMIT + 1):
                response = await trigger(client, workflow_id)
                assert response.status_code == 200, response.text
                await wait_finished(client, workflow_id, count=accepted)
            limited = await trigger(client, workflow_id)
            if _window() == window:
                break
        assert limited.status_code == 429, limited.text
        assert limited.json()["error"]
        retry_after = int(limited.headers["Retry-After"])
        assert 1 <= retry_after <= 60
