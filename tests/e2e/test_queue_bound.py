"""API_MAX_QUEUE_WAIT_MS on real processes, at its default: with no runner draining,
triggers are accepted until more than a few runs have waited longer than the bound, then
answered 503 + Retry-After, storing nothing; a runner draining the queue opens it again."""

from __future__ import annotations

import itertools

import httpx
import pytest

from tests.e2e.helpers import api_client, create_workflow, log_action, trigger, wait_finished
from tests.e2e.stacks import StartStack
from tests.polling import eventually
from workflows_svc.admission import STRAGGLERS_ADMITTED

pytestmark = pytest.mark.e2e
DEADLINE_S = 20.0


async def test_triggers_past_the_queue_wait_bound_are_shed_until_runners_drain(
    start_stack: StartStack,
) -> None:
    with start_stack(label="queue-bound") as stack:
        assert stack.services["runner_svc"].terminate(timeout_s=20) == 0
        async with api_client(stack.api) as client:
            accepted: list[str] = []
            numbers = itertools.count()

            async def shed() -> tuple[str, httpx.Response] | None:
                """Trigger a fresh workflow: the 503 once more than the stragglers admitted
                have waited longer than the bound (each 200 before it queues one more)."""
                workflow_id = f"queued-{next(numbers)}"
                await create_workflow(client, workflow_id, [log_action("queued")])
                answer = await trigger(client, workflow_id)
                if answer.status_code == 503:
                    return workflow_id, answer
                assert answer.status_code == 200, answer.text
                accepted.append(workflow_id)
                return None

            refused_id, answer = await eventually(
                shed, timeout_s=DEADLINE_S, what="a trigger shed past the queue wait bound"
            )
            assert len(accepted) > STRAGGLERS_ADMITTED
            assert answer.headers["retry-after"] == "1"
            assert "retry later" in answer.json()["error"]
            shown = (await client.get(f"/workflows/{refused_id}")).json()
            assert (shown["status"], shown["trigger"]["status"]) == ("active", None)
            metrics = (await client.get("/metrics")).text
            [counted] = [line for line in metrics.splitlines()
                         if line.startswith("triggers_shed_total ")]
            assert float(counted.split()[1]) >= 1

            stack.add("runner_svc")
            for workflow_id in accepted:
                await wait_finished(client, workflow_id, timeout_s=DEADLINE_S)

            async def admitted() -> bool:
                return (await trigger(client, refused_id)).status_code == 200

            await eventually(admitted, timeout_s=DEADLINE_S, what="the trigger admitted again")
            [execution] = await wait_finished(client, refused_id, timeout_s=DEADLINE_S)
            assert execution["status"] == "ok"
