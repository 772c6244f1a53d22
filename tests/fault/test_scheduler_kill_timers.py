"""kill -9 of the scheduler (test-only fault hook, right after its claim) while cron and
once workflows fall due: after a restart no slot runs twice and none is lost (every missed
slot is within the default 1 h catch-up window, so each runs once)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.fault.checks import FINAL
from tests.fault.load import MakeStack, api_client, create_workflows, new_ids, ok_action
from tests.polling import eventually, eventually_sync
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
ONCE, CRON = 30, 15
FAULT_ENV = {"SCHEDULER_FAULT": "after_claim"}
FAULTY_SCHEDULER = "tests.fault.faulty_scheduler"


async def test_scheduler_kill_9_while_timers_and_cron_slots_fall_due(
    make_stack: MakeStack, target: TargetServer, mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    started = time.monotonic()
    stack = make_stack()
    await asyncio.to_thread(stack.add, "workflows_svc")
    await asyncio.to_thread(stack.add, "runner_svc")
    db = mongo_client[stack.database_name]
    timers, crons = new_ids("once", ONCE), new_ids("cron", CRON)
    everyone = timers + crons

    async with api_client(stack) as client:
        await create_workflows(client, timers, [ok_action(target.url)],
                               trigger={"type": "once", "after": "2s"})
        await create_workflows(client, crons, [ok_action(target.url)],
                               trigger={"type": "cron", "cron": "* * * * *"})

        async def all_due() -> bool:
            query = {"workflow_id": {"$in": everyone},
                     "trigger.next_run": {"$lte": datetime.now(UTC)}}
            return await db.workflows.count_documents(query) == len(everyone)

        await eventually(all_due, timeout_s=75, what="every timer and cron slot due")
        scheduler = await asyncio.to_thread(stack.add, FAULTY_SCHEDULER, name="scheduler_svc",
                                            env=FAULT_ENV, wait=False)
        assert scheduler.proc is not None
        proc = scheduler.proc
        await asyncio.to_thread(
            eventually_sync, lambda: proc.poll() is not None, timeout_s=30,
            what="the scheduler to kill itself after its claim",
        )
        assert proc.returncode == -signal.SIGKILL
        stuck = await db.workflows.count_documents(
            {"workflow_id": {"$in": everyone}, "status": "scheduled"})
        assert stuck, "the fault hook fired but nothing was left scheduled"

        for key in FAULT_ENV:
            scheduler.env.pop(key)
        scheduler.module = "scheduler_svc"
        await asyncio.to_thread(scheduler.start)

        async def each_ran() -> bool:
            query = {"workflow_id": {"$in": everyone}, "status": {"$in": list(FINAL)}}
            finished = await db.executions.distinct("workflow_id", query)
            return len(finished) == len(everyone)

        await eventually(each_ran, timeout_s=60, interval_s=0.2, what="every slot to run once")
        assert await asyncio.to_thread(scheduler.terminate, 30) == 0
        runs = [d async for d in db.executions.find(
            {"workflow_id": {"$in": everyone}}, {"_id": 0, "workflow_id": 1, "created_at": 1})]
        timer_state = [d async for d in db.workflows.find(
            {"workflow_id": {"$in": timers}}, {"_id": 0, "trigger.next_run": 1})]

    per_timer = Counter(r["workflow_id"] for r in runs if r["workflow_id"] in timers)
    assert set(per_timer) == set(timers) and set(per_timer.values()) == {1}, per_timer
    assert all(t["trigger"]["next_run"] is None for t in timer_state)
    per_slot = Counter((r["workflow_id"], r["created_at"].replace(second=0, microsecond=0))
                       for r in runs if r["workflow_id"] in crons)
    assert {w for w, _ in per_slot} == set(crons)
    assert set(per_slot.values()) == {1}, [k for k, n in per_slot.items() if n > 1]
    print(f"\n[fault] scheduler kill -9 with timers and cron due: {stuck} left scheduled; "
          f"{ONCE} timers ran once each; {len(per_slot)} cron slot runs, none twice; "
          f"{time.monotonic() - started:.0f}s")
