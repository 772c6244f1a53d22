"""One failover scenario under load: manual triggers and periodic workflows run throughout,
faults are injected step by step, each step waits until work flows again and the cluster is
whole again, then the fault checker (tests/fault/checks.py) judges the outcome."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.cluster.cluster import Cluster, Fault
from tests.cluster.conftest import FIGURES, StartClusterStack
from tests.cluster.measure import Figures, Prober, Recorder, figures, recorded_client
from tests.fault.checks import check_manual, check_periodic, runner_logs
from tests.fault.load import (
    TriggerLoad,
    create_ticking,
    create_workflows,
    more_accepted,
    new_ids,
    slow_action,
)
from tests.target_server import TargetServer

MANUAL = 80  # manual workflows, each triggered again as soon as its run ended
PERIODIC = 10  # periodic workflows, every second
PER_PHASE = 80  # accepted triggers awaited before the first fault and after each one
Step = Callable[[str], Awaitable[list[Fault]]]  # (execution topic) -> the faults it injected


@dataclass
class Outcome:
    figures: list[Figures]
    summary: str
    periodic_runs: int
    seconds: float


async def run(
    name: str, cluster: Cluster, start_stack: StartClusterStack, target: TargetServer,
    steps: list[Step], **env: str,
) -> Outcome:
    began = time.monotonic()
    stack, db = await start_stack(**env)
    topic = stack.base_env()["KAFKA_TOPIC"]
    replicas = await cluster.replicas(topic)
    assert replicas and set(replicas) == {3}, f"{topic} replicas per partition: {replicas}"
    manual, periodic = new_ids(name, MANUAL), new_ids(f"{name}-tick", PERIODIC)
    probe_id = new_ids(f"{name}-probe", 1)[0]
    recorder = Recorder()
    faults: list[Fault] = []
    marks: list[float] = []  # when each step's recovery ended (a figures window ends there)

    async with recorded_client(stack.api, recorder) as client:
        await create_workflows(client, manual + [probe_id], [slow_action(target.url, 100)])
        await create_ticking(client, periodic)
        load = TriggerLoad(client, db, manual, retry_for_s=120, idle_timeout_s=180)
        stop_load = asyncio.Event()
        running = asyncio.create_task(load.run_until(stop_load, per_workflow=10_000))
        prober = Prober(client, recorder, probe_id).start()
        try:
            await more_accepted(load, PER_PHASE, after="the start")
            for step in steps:
                injected = await step(topic)
                faults.extend(injected)
                await more_accepted(load, PER_PHASE, after=" + ".join(
                    f"{f.kind} of {f.member}" for f in injected))
                await cluster.up()  # restarts the killed members, waits until all are healthy
                await cluster.mongo_healthy()
                await cluster.kafka_in_sync(topic)
                marks.append(time.monotonic())
            await more_accepted(load, PER_PHASE // 2, after="the cluster was whole again")
        finally:
            stop_load.set()
            await running
            await prober.stop()
        assert await asyncio.to_thread(stack.services["scheduler_svc"].terminate, 30) == 0
        runs = await check_periodic(db, periodic, settle_timeout_s=120)
        summary = await check_manual(db, client, load.ledger, runner_logs=runner_logs(stack),
                                     settle_timeout_s=120)

    hangs = {k: v for k, v in load.ledger.answers.items() if k.startswith("no answer")}
    assert not hangs, f"API requests left without an answer: {hangs}"
    problems = recorder.problems()
    assert not problems, f"{len(problems)} API answers other than 2xx/409/503 or too slow: " \
                         f"{problems[:10]}"
    crashed = [s.module for s in stack.services.values()
               if s.module != "scheduler_svc" and s.proc and s.proc.poll() is not None]
    assert not crashed, f"exited during the failovers: {crashed}"

    # A fault's window ends when the cluster was whole again after its step.
    ends = [next((m for m in marks if m > f.at), time.monotonic()) for f in faults]
    measured = [await figures(f, end, recorder, db, manual)
                for f, end in zip(faults, ends, strict=True)]
    outcome = Outcome(measured, summary.line(), runs, time.monotonic() - began)
    FIGURES.append({
        "scenario": name, "seconds": round(outcome.seconds),
        "faults": [m.as_dict() for m in measured], "summary": outcome.summary,
        "periodic_runs": runs, "answers": recorder.codes(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    })
    print(f"\n[cluster] {name}: " + "; ".join(m.line() for m in measured)
          + f"; {runs} periodic runs; {outcome.summary}; {outcome.seconds:.0f}s; load average "
          f"{os.getloadavg()[1]:.1f}")
    return outcome

