"""kill -9 of workflows_svc during a burst of triggers: every trigger answered 200 was
produced and runs; one that got no answer may be retried by the client and runs at most once
more (the scheduler re-dispatches a claim whose request was never produced)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fault.checks import check_manual, runner_logs, scheduler_totals
from tests.fault.load import StartStack, TriggerLoad, api_client, create_workflows, new_ids
from tests.polling import eventually
from tests.target_server import TargetServer

pytestmark = pytest.mark.fault
WORKFLOWS = 250
ROUNDS = 2


async def test_api_kill_9_during_a_trigger_burst(
    start_stack: StartStack, target: TargetServer,
) -> None:
    started = time.monotonic()
    stack, db = await start_stack()
    api = stack.services["workflows_svc"]
    ids = new_ids("kill-api", WORKFLOWS)
    action = {"type": "http-request", "url": f"{target.url}/slow?ms=200", "method": "GET"}

    async with api_client(stack) as client:
        await create_workflows(client, ids, [action])
        load = TriggerLoad(client, db, ids, concurrency=64)
        for done_rounds in range(ROUNDS):
            round_done = asyncio.create_task(load.round())
            answered_before = WORKFLOWS * done_rounds

            async def burst_under_way(before: int = answered_before) -> bool:
                return load.ledger.accepted >= before + WORKFLOWS // 3

            await eventually(burst_under_way, timeout_s=30, what="a third of the burst answered")
            await asyncio.to_thread(api.kill)
            await asyncio.to_thread(api.start)
            await round_done
        summary = await check_manual(db, client, load.ledger, runner_logs=runner_logs(stack),
                                     settle_timeout_s=90)

    answers = load.ledger.answers
    cut_off = sum(n for kind, n in answers.items() if kind.startswith(("no answer", "refused")))
    assert cut_off > 0, "the kill interrupted no request"
    # Each round of each workflow ended with a claim the client knows of (200, or 409 after
    # an unanswered attempt). An unanswered attempt that did go through and finished before
    # the client's retry was accepted adds one more execution (check_manual bounds those).
    owed = sum(o.exact for o in load.ledger.owed.values())
    assert owed == WORKFLOWS * ROUNDS
    stuck = scheduler_totals([stack.services["scheduler_svc"].log_path])["redispatched"]
    print(f"\n[fault] workflows_svc kill -9 x{ROUNDS} mid-burst: {summary.line()}; "
          f"claims re-dispatched by the scheduler (never produced) {stuck}; executions of "
          f"unanswered attempts the client retried {summary.executions - owed}; "
          f"{time.monotonic() - started:.0f}s")
