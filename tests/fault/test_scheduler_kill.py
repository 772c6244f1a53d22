"""kill -9 of the scheduler between its claim and its produce (test-only fault hook): the
runs it left `scheduled` are re-dispatched by a restarted scheduler, with the same ids."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.fault.checks import FINAL, check_manual, check_periodic, metric, runner_logs
from tests.fault.load import (
    MakeStack,
    TriggerLoad,
    api_client,
    create_ticking,
    create_workflows,
    new_ids,
    ok_action,
)
from tests.polling import eventually, eventually_sync
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
PERIODIC = 40
MANUAL = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


FAULT_ENV = {"SCHEDULER_FAULT": "after_claim"}
FAULTY_SCHEDULER = "tests.fault.faulty_scheduler"  # scheduler_svc wired with a fault hook


async def test_scheduler_kill_9_between_claim_and_produce(
    make_stack: MakeStack, target: TargetServer, mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    started = time.monotonic()
    stack = make_stack()
    await asyncio.to_thread(stack.add, "workflows_svc")
    await asyncio.to_thread(stack.add, "runner_svc")
    db = mongo_client[stack.database_name]
    periodic, manual = new_ids("tick", PERIODIC), new_ids("manual", MANUAL)

    async with api_client(stack) as client:
        await create_workflows(client, manual, [ok_action(target.url)])
        load = TriggerLoad(client, db, manual)
        manual_load = asyncio.create_task(load.run(3))
        await create_ticking(client, periodic)

        async def all_due() -> bool:
            query = {"workflow_id": {"$in": periodic}, "trigger.next_run": {"$lte": utcnow()}}
            return await db.workflows.count_documents(query) == PERIODIC

        await eventually(all_due, timeout_s=10, what="every periodic workflow due")
        # Its first due batch (all of them) is claimed, then the hook SIGKILLs the process.
        scheduler = await asyncio.to_thread(stack.add, FAULTY_SCHEDULER, name="scheduler_svc",
                                            env=FAULT_ENV, wait=False)
        assert scheduler.proc is not None
        proc = scheduler.proc
        await asyncio.to_thread(
            eventually_sync, lambda: proc.poll() is not None, timeout_s=30,
            what="the scheduler to kill itself after its claim",
        )
        assert proc.returncode == -signal.SIGKILL
        stuck = {
            d["workflow_id"]: d["trigger"]["execution_id"] async for d in db.workflows.find(
                {"workflow_id": {"$in": periodic}, "status": "scheduled"},
                {"_id": 0, "workflow_id": 1, "trigger.execution_id": 1},
            )
        }
        assert stuck, "the fault hook fired but no workflow was left scheduled"
        assert not await db.executions.count_documents({"id": {"$in": list(stuck.values())}})

        for key in FAULT_ENV:
            scheduler.env.pop(key)
        scheduler.module = "scheduler_svc"  # restarted as production wires it: no hook
        await asyncio.to_thread(scheduler.start)

        async def stuck_runs_done() -> bool:
            query = {"id": {"$in": list(stuck.values())}, "status": {"$in": list(FINAL)}}
            return await db.executions.count_documents(query) == len(stuck)

        await eventually(stuck_runs_done, timeout_s=40, interval_s=0.2,
                         what="the stuck runs to be re-dispatched and finished")

        async def periodic_resumed() -> bool:
            query = {"workflow_id": {"$in": periodic}, "status": "ok"}
            return await db.executions.count_documents(query) >= 4 * PERIODIC

        await eventually(periodic_resumed, timeout_s=40, interval_s=0.2,
                         what="three more periodic runs per workflow after the recovery")
        redispatched = await metric(client, scheduler.url, "scheduler_dispatches_total",
                                    kind="stuck")
        await manual_load
        assert await asyncio.to_thread(scheduler.terminate, 30) == 0
        runs = await check_periodic(db, periodic)
        summary = await check_manual(db, client, load.ledger, runner_logs=runner_logs(stack))

    assert redispatched >= len(stuck)
    assert summary.accepted == summary.executions == MANUAL * 3
    print(f"\n[fault] scheduler kill -9 after claim: {len(stuck)} runs left scheduled, "
          f"{redispatched:.0f} stuck re-dispatches, all {len(stuck)} finished with their ids; "
          f"{runs} periodic runs; {summary.line()}; {time.monotonic() - started:.0f}s")
