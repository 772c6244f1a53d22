"""One attempt's actions as a graph: ready ones run concurrently, bounded per execution and
per runner; a failure stops new starts (running ones finish); a wait kind parks its action."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runner_svc.actions import ActionRunner
from runner_svc.actions.context import run_context
from runner_svc.actions.delay import decide_delay
from runner_svc.actions.wait_for_signal import decide_signal
from runner_svc.actions.waits import Park, WaitStep
from shared.actions import Action, DelayAction, WaitForSignalAction
from shared.domain.execution_record import action_key, parked, ready_to_run, with_run
from shared.domain.models import ActionResult, ActionResultStatus, ActionWait, Execution, Workflow
from shared.domain.run_context import RunContext
from shared.ports import Clock

Timed = tuple[ActionResult, datetime, datetime]
CancelCheck = Callable[[], Awaitable[bool]]


def decide_wait(action: Action, wait: ActionWait | None, now: datetime) -> WaitStep | None:
    """The step of a wait kind; None for a kind that runs in the runner."""
    if isinstance(action, DelayAction):
        return decide_delay(action, wait, now)
    if isinstance(action, WaitForSignalAction):
        return decide_signal(action, wait, now)
    return None


@dataclass
class _State:
    execution: Execution
    started: list[str] = field(default_factory=list)  # keys started or parked this attempt
    running: dict[asyncio.Task[Timed], Action] = field(default_factory=dict)
    stopping: bool = False


class AttemptRunner:
    """Runs the actions of one attempt that have not succeeded, as their dependencies allow."""

    def __init__(self, *, actions: ActionRunner, clock: Clock, max_parallel: int = 8,
                 slots: asyncio.Semaphore | None = None) -> None:
        self._actions = actions
        self._clock = clock
        self._max_parallel = max_parallel
        self._slots = slots or asyncio.Semaphore(max_parallel)

    async def run(
        self, workflow: Workflow, execution: Execution, *, cancelled: CancelCheck | None = None
    ) -> tuple[list[str], Execution]:
        """The keys of the actions it ran or parked, and the execution with their runs;
        `cancelled` is asked before new actions start (a cancel starts no further action)."""
        state = _State(execution)
        try:
            while True:
                if not state.stopping and cancelled is not None and await cancelled():
                    state.stopping = True
                if not state.stopping and self._start_ready(workflow, state):
                    continue  # a wait ended at once: its dependants may be ready now
                if not state.running:
                    return state.started, state.execution
                done, _ = await asyncio.wait(state.running, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: state.running[t].action_id):
                    self._record(state, state.running.pop(task), *task.result())
        finally:
            await _cancel(list(state.running))

    def _start_ready(self, workflow: Workflow, state: _State) -> bool:
        """Start what is ready, within the per-execution bound; whether a wait ended."""
        for action in ready_to_run(workflow.actions, state.execution, state.started):
            if len(state.running) >= self._max_parallel:
                return False
            key = action_key(action)
            state.started.append(key)
            existing = state.execution.actions.get(key)
            step = decide_wait(action, existing.wait if existing else None, self._clock.now())
            if step is None:
                context = run_context(workflow, state.execution)
                state.running[asyncio.create_task(self._timed(action, context))] = action
            elif isinstance(step, Park):
                state.execution = parked(state.execution, action, step.wait)
            else:
                self._record(state, action, step.result, step.started_at, self._clock.now(),
                             signal=step.signal)
                return True
        return False

    def _record(self, state: _State, action: Action, result: ActionResult,
                started_at: datetime, finished_at: datetime, *, signal: Any = None) -> None:
        state.execution = with_run(state.execution, action, result, started_at=started_at,
                                   finished_at=finished_at, signal=signal)
        if result.status != ActionResultStatus.OK:
            state.stopping = True

    async def _timed(self, action: Action, context: RunContext) -> Timed:
        async with self._slots:
            started_at = self._clock.now()
            result = await self._actions.run(action, context)
            return result, started_at, self._clock.now()


async def _cancel(tasks: list[asyncio.Task[Timed]]) -> None:
    """Only after an error: the attempt is interrupted, its runs in flight are dropped."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


