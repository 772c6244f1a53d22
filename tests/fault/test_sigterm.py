"""SIGTERM to each service under load: it exits 0 within a bound, having finished or released
what it had in flight; restarted, the system loses nothing."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fault.checks import check_manual, check_periodic, runner_logs
from tests.fault.load import (
    StartStack,
    TriggerLoad,
    api_client,
    create_ticking,
    create_workflows,
    more_accepted,
    new_ids,
    slow_action,
)
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
MANUAL = 150
PERIODIC = 20
STOP_BOUND_S = 30.0


async def test_sigterm_each_service_under_load(
    start_stack: StartStack, target: TargetServer,
) -> None:
    started = time.monotonic()
    stack, db = await start_stack()
    manual, periodic = new_ids("term", MANUAL), new_ids("tick", PERIODIC)
    stops: list[tuple[str, int, float]] = []

    async def locked() -> int:
        return await db.workflows.count_documents({"status": "locked"})

    async def busy() -> bool:
        return await locked() >= 20

    async def sigterm(name: str) -> None:
        service = stack.services[name]
        began = time.monotonic()
        code = await asyncio.to_thread(service.terminate, STOP_BOUND_S)
        stops.append((name, code, round(time.monotonic() - began, 1)))
        assert code == 0, f"{name} exited {code} (SIGKILLed after {STOP_BOUND_S}s if -9)"

    async with api_client(stack) as client:
        await create_workflows(client, manual, [slow_action(target.url, 1000)])
        await create_ticking(client, periodic)
        load = TriggerLoad(client, db, manual, idle_timeout_s=120)
        stop_load = asyncio.Event()
        running = asyncio.create_task(load.run_until(stop_load))
        left_locked: dict[str, int] = {}

        for name in ("runner_svc", "scheduler_svc", "workflows_svc"):
            await eventually(busy, timeout_s=60, what="20 executions in flight")
            await sigterm(name)
            left_locked[name] = await locked()
            if name == "runner_svc":
                # The only runner is gone: anything still locked was neither finished nor
                # released by it.
                assert left_locked[name] == 0, f"{left_locked[name]} left locked by the runner"
            await asyncio.to_thread(stack.services[name].start)

        await more_accepted(load, MANUAL, after="the restarts")
        stop_load.set()
        await running
        await sigterm("scheduler_svc")  # stop periodic dispatch before checking
        runs = await check_periodic(db, periodic)
        summary = await check_manual(db, client, load.ledger, runner_logs=runner_logs(stack),
                                     settle_timeout_s=90)

    assert summary.executions >= summary.accepted > 0
    runner_log = stack.services["runner_svc"].log_path.read_text(errors="replace")
    interrupted = runner_log.count('"attempt interrupted; it will be retried"')
    assert interrupted == 0, f"{interrupted} attempts interrupted instead of finished"
    print(f"\n[fault] SIGTERM under load: exit code and seconds {stops}, left locked right "
          f"after each exit {left_locked}; attempts interrupted {interrupted}; "
          f"{runs} periodic runs; {summary.line()}; {time.monotonic() - started:.0f}s")
