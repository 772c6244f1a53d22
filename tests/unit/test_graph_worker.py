"""The worker on a graph (SPEC 9): ready actions run concurrently, bounded; a failure starts
nothing new while running ones finish; a retry runs only what has not succeeded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from shared.actions import Action, LogAction
from shared.domain.models import ActionResult, ExecutionStatus, Trigger, TriggerType, Workflow
from shared.domain.run_context import RunContext
from tests.fakes import Harness, ScriptedActionRunner

GUARD_S = 5.0  # a deadline for a hook, not a synchronisation


def graph(workflow_id: str, h: Harness, deps: Sequence[tuple[str, list[str] | None]]
          ) -> Workflow:
    actions: list[Action] = [
        LogAction(action_id=i, name=name, depends_on=d, message=name)
        for i, (name, d) in enumerate(deps, start=1)
    ]
    return Workflow(workflow_id=workflow_id, created_at=h.clock.now(),
                    trigger=Trigger(type=TriggerType.MANUAL), actions=actions)


DIAMOND = [("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"])]


async def test_a_diamond_runs_its_middle_in_parallel_and_the_join_after_both() -> None:
    h = Harness()
    await h.add(graph("diamond", h, DIAMOND))
    both_started = asyncio.Barrier(2)

    async def hook(action: Action) -> None:
        if action.name in ("b", "c"):
            async with asyncio.timeout(GUARD_S):  # b and c must be running at the same time
                await both_started.wait()

    actions = ScriptedActionRunner(hook=hook)
    done = await h.worker(actions).run(await h.trigger("diamond"))

    assert done is not None and done.status == ExecutionStatus.OK
    assert actions.ran[0] == 1 and sorted(actions.ran[1:3]) == [2, 3] and actions.ran[3] == 4
    seqs = {key: state.runs[0].seq for key, state in done.actions.items()}
    assert seqs["d"] > max(seqs["b"], seqs["c"]) > seqs["a"]


async def test_parallel_runs_are_bounded_per_execution() -> None:
    h = Harness()
    await h.add(graph("wide", h, [(f"r{i}", []) for i in range(6)]))
    running, peak = 0, 0
    release = asyncio.Event()

    async def hook(action: Action) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if peak == 2:
            release.set()
        async with asyncio.timeout(GUARD_S):
            await release.wait()
        running -= 1

    actions = ScriptedActionRunner(hook=hook)
    done = await h.worker(actions, max_parallel_actions=2).run(await h.trigger("wide"))
    assert done is not None and done.status == ExecutionStatus.OK
    assert peak == 2 and len(actions.ran) == 6


async def test_a_failure_starts_nothing_new_running_ones_finish_and_the_retry_redoes_the_rest(
) -> None:
    h = Harness()
    # b and c are roots; d follows b; c fails while b is still running.
    await h.add(graph("fail", h, [("b", []), ("c", []), ("d", ["b"])]))
    c_failed = asyncio.Event()

    async def hook(action: Action) -> None:
        if action.name == "b":
            async with asyncio.timeout(GUARD_S):
                await c_failed.wait()

    class Runner(ScriptedActionRunner):
        async def run(self, action: Action, context: RunContext | None = None) -> ActionResult:
            result = await super().run(action, context)
            if action.name == "c":
                c_failed.set()
            return result

    first = Runner(hook=hook, script={2: ["failed"]})
    pending = await h.worker(first).run(await h.trigger("fail"))
    assert pending is not None and pending.status == ExecutionStatus.PENDING
    assert sorted(first.ran) == [1, 2], "d must not start after c failed"
    assert pending.actions["b"].status.value == "ok"

    h.clock.advance(10)
    [retry] = await h.dispatch_due()
    second = ScriptedActionRunner()
    done = await h.worker(second).run(retry)
    assert done is not None and done.status == ExecutionStatus.OK
    assert second.ran == [2, 3], "the retry runs c and d only"
    assert done.retries == 3 and done.attempt == 2
