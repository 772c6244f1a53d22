"""kill -9 of every service while executions wait in `delay` and `wait-for-signal`: after a
restart they resume and finish, and nothing that had succeeded runs twice."""

from __future__ import annotations

import asyncio

import pytest

from tests.fault.load import StartStack, api_client, new_ids
from tests.polling import eventually

pytestmark = pytest.mark.fault
EACH = 5


def actions(wait: dict[str, str]) -> list[dict[str, object]]:
    return [{"type": "log", "message": "before"}, wait, {"type": "log", "message": "after"}]


async def test_waiting_executions_survive_kill_9_of_every_service(
    start_stack: StartStack,
) -> None:
    stack, db = await start_stack()
    delayed, signalled = new_ids("kill-delay", EACH), new_ids("kill-signal", EACH)
    async with api_client(stack) as client:
        for ids, wait in ((delayed, {"type": "delay", "duration": "6s"}),
                          (signalled, {"type": "wait-for-signal", "signal": "go"})):
            for workflow_id in ids:
                body = {"workflowId": workflow_id, "trigger": {"type": "manual"},
                        "actions": actions(wait)}
                assert (await client.post("/workflows", json=body)).status_code == 201
                assert (await client.post(f"/workflows/{workflow_id}/trigger")).status_code == 200

    everyone = delayed + signalled

    async def all_waiting() -> bool:
        count = await db.workflows.count_documents(
            {"workflow_id": {"$in": everyone}, "trigger.status": "waiting"})
        return count == len(everyone)

    await eventually(all_waiting, timeout_s=30, what="every execution parked")
    for service in stack.services.values():
        await asyncio.to_thread(service.kill)
    for service in stack.services.values():
        await asyncio.to_thread(service.start)

    async with api_client(stack) as client:
        for workflow_id in signalled:
            execution = await db.executions.find_one({"workflow_id": workflow_id})
            assert execution is not None
            sent = await client.post(f"/executions/{execution['id']}/signals/go",
                                     json={"from": workflow_id})
            assert sent.status_code == 200, sent.text

    async def all_ok() -> bool:
        count = await db.executions.count_documents(
            {"workflow_id": {"$in": everyone}, "status": "ok"})
        return count == len(everyone)

    await eventually(all_ok, timeout_s=60, what="every execution finished ok")
    async for execution in db.executions.find({"workflow_id": {"$in": everyone}}):
        runs = {key: len(state["runs"]) for key, state in execution["actions"].items()}
        assert runs == {"action-1": 1, "action-2": 1, "action-3": 1}, execution
    assert await db.executions.count_documents({"workflow_id": {"$in": everyone}}) == len(
        everyone)
    signals = [e["actions"]["action-2"]["runs"][0]["signal"] async for e in db.executions.find(
        {"workflow_id": {"$in": signalled}})]
    assert sorted(s["from"] for s in signals) == sorted(signalled)
