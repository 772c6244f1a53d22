"""kill -9 of the runner while executions are in flight: the leases expire, the scheduler
re-dispatches, a restarted runner finishes every accepted execution exactly once."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fault.checks import check_manual, metric, runner_logs
from tests.fault.load import (
    StartStack,
    TriggerLoad,
    api_client,
    create_workflows,
    new_ids,
    slow_action,
)
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
WORKFLOWS = 200
ROUNDS = 2


async def test_runner_kill_9_mid_execution_loses_nothing(
    start_stack: StartStack, target: TargetServer,
) -> None:
    started = time.monotonic()
    stack, db = await start_stack(RUNNER_CONCURRENCY="100")
    runner = stack.services["runner_svc"]
    ids = new_ids("kill-runner", WORKFLOWS)
    locked_at_kill = []

    async def locked() -> int:
        return await db.workflows.count_documents({"status": "locked"})

    async def in_flight() -> bool:
        return await locked() >= 50

    async with api_client(stack) as client:
        await create_workflows(client, ids, [slow_action(target.url, 1500)])
        load = TriggerLoad(client, db, ids, idle_timeout_s=120)
        for _ in range(ROUNDS):
            round_done = asyncio.create_task(load.round())
            await eventually(in_flight, timeout_s=30, what="50 executions in flight")
            await asyncio.to_thread(runner.kill)
            locked_at_kill.append(await locked())
            await asyncio.to_thread(runner.start)
            await round_done
        summary = await check_manual(db, client, load.ledger, runner_logs=runner_logs(stack))
        recovered = await metric(client, stack.services["scheduler_svc"].url,
                                 "scheduler_dispatches_total", kind="lease_expired")

    assert load.ledger.accepted == WORKFLOWS * ROUNDS
    assert summary.executions == WORKFLOWS * ROUNDS
    assert summary.ok == summary.executions
    assert recovered >= 1, "no lease was recovered: the kill hit no execution in flight"
    print(f"\n[fault] runner kill -9 x{ROUNDS}: locked at kill {locked_at_kill}, "
          f"leases recovered {recovered:.0f}; {summary.line()}; "
          f"{time.monotonic() - started:.0f}s")

