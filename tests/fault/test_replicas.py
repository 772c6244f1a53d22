"""Two schedulers and three runners at once, under periodic and manual load: no run is
dispatched twice, and everything completes."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fault.checks import check_manual, check_periodic, runner_logs, scheduler_totals
from tests.fault.load import (
    StartStack,
    TriggerLoad,
    api_client,
    create_ticking,
    create_workflows,
    new_ids,
    slow_action,
)
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
PERIODIC = 50
MANUAL = 150
ROUNDS = 2
PERIODIC_RUNS = 8 * PERIODIC  # about 8 s of 1 s ticks


async def test_two_schedulers_three_runners_dispatch_each_run_once(
    start_stack: StartStack, target: TargetServer,
) -> None:
    started = time.monotonic()
    stack, db = await start_stack()
    await asyncio.to_thread(stack.add, "scheduler_svc", name="scheduler-2")
    await asyncio.to_thread(stack.add, "runner_svc", name="runner-2")
    await asyncio.to_thread(stack.add, "runner_svc", name="runner-3")
    schedulers = [stack.services["scheduler_svc"], stack.services["scheduler-2"]]
    periodic, manual = new_ids("tick", PERIODIC), new_ids("manual", MANUAL)

    async with api_client(stack) as client:
        await create_workflows(client, manual, [slow_action(target.url, 300)])
        await create_ticking(client, periodic)
        load = TriggerLoad(client, db, manual)
        await load.run(ROUNDS)

        async def enough_periodic_runs() -> bool:
            query = {"workflow_id": {"$in": periodic}}
            return await db.executions.count_documents(query) >= PERIODIC_RUNS

        await eventually(enough_periodic_runs, timeout_s=60, interval_s=0.2,
                         what=f"{PERIODIC_RUNS} periodic runs")
        for scheduler in schedulers:
            assert await asyncio.to_thread(scheduler.terminate, 30) == 0
        per_scheduler = [scheduler_totals([s.log_path]) for s in schedulers]
        runs = await check_periodic(db, periodic)
        summary = await check_manual(db, client, load.ledger, runner_logs=runner_logs(stack))

    dispatched = [t["dispatched"] for t in per_scheduler]
    retries = [t["retries"] for t in per_scheduler]
    # Every dispatch of a slot carries a fresh execution id, and a retry (an attempt that an
    # infrastructure error interrupted) or a re-dispatch reuses it: a slot dispatched twice
    # would show as more fresh dispatches than runs.
    fresh = sum(dispatched) - sum(retries)
    assert fresh == runs, f"{dispatched} dispatches ({retries} retries) for {runs} runs"
    assert summary.accepted == summary.executions == MANUAL * ROUNDS
    print(f"\n[fault] 2 schedulers + 3 runners: {runs} periodic runs, dispatched by "
          f"scheduler {dispatched}, re-dispatched "
          f"{[t['redispatched'] + t['recovered'] for t in per_scheduler]}; "
          f"{summary.line()}; {time.monotonic() - started:.0f}s")
