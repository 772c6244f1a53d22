"""Tiny fakes of our own ports, workflow builders and a runner/scheduler harness."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from runner_svc.worker import ExecutionWorker
from scheduler_svc.scheduler import Scheduler
from shared.actions import HttpRequestAction, LogAction
from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.domain.errors import Unavailable
from shared.domain.execution_record import with_run
from shared.domain.models import (
    Action,
    ActionResult,
    ActionResultStatus,
    Execution,
    ExecutionRequest,
    Trigger,
    TriggerType,
    Workflow,
)
from shared.domain.run_context import RunContext
from shared.ports import ConsumedMessage, TriggerClaim
from tests.fakes.clock import FakeClock

ActionHook = Callable[[Action], Awaitable[None]]
DEFAULT_KINDS = ("log", "http-request", "log")


# --- workflow builders -------------------------------------------------------------------


def make_actions(kinds: Sequence[str] = DEFAULT_KINDS) -> list[Action]:
    """One action per kind named ("log" or "http-request"), numbered from 1."""
    return [_action(kind, index) for index, kind in enumerate(kinds, start=1)]


def _action(kind: str, index: int) -> Action:
    if kind == "log":
        return LogAction(action_id=index, message=f"step {index}")
    if kind == "http-request":
        return HttpRequestAction(action_id=index, url=f"https://example.test/{index}", method="GET")
    raise ValueError(f"no builder for action kind {kind!r}")


def manual_workflow(
    workflow_id: str, clock: FakeClock, kinds: Sequence[str] = DEFAULT_KINDS
) -> Workflow:
    return Workflow(
        workflow_id=workflow_id,
        created_at=clock.now(),
        trigger=Trigger(type=TriggerType.MANUAL),
        actions=make_actions(kinds),
    )


def periodic_workflow(
    workflow_id: str,
    clock: FakeClock,
    interval_s: int = 10,
    kinds: Sequence[str] = DEFAULT_KINDS,
) -> Workflow:
    created = clock.now()
    return Workflow(
        workflow_id=workflow_id,
        created_at=created,
        trigger=Trigger(
            type=TriggerType.PERIODIC,
            interval=f"{interval_s}s",
            interval_ms=interval_s * 1000,
            next_run=created + timedelta(seconds=interval_s),
        ),
        actions=make_actions(kinds),
    )


# --- execution records -------------------------------------------------------------------


@dataclass(frozen=True)
class V1Action:
    """An action as the execution record sees a v1 one: an id, no name."""

    action_id: int


def with_result(execution: Execution, result: ActionResult) -> Execution:
    """`execution` with one more run (in its current attempt) of the action `result` names."""
    return with_run(execution, V1Action(result.action_id), result)


# --- ActionRunner ------------------------------------------------------------------------


class ScriptedActionRunner:
    """ActionRunner whose outcome per action id is scripted; records what ran.

    `script[action_id]` is consumed one outcome per run ("ok", "failed" or "raise");
    once exhausted (or absent) the action fails if it is in `always_fail`, else is ok.
    `hook` is awaited before the outcome is decided (to observe state, block, ...).
    """

    def __init__(
        self,
        *,
        always_fail: Iterable[int] = (),
        script: dict[int, list[str]] | None = None,
        hook: ActionHook | None = None,
    ) -> None:
        self.always_fail = set(always_fail)
        self.script = {k: deque(v) for k, v in (script or {}).items()}
        self.hook = hook
        self.ran: list[int] = []
        self.contexts: list[RunContext | None] = []

    async def run(self, action: Action, context: RunContext | None = None) -> ActionResult:
        self.ran.append(action.action_id)
        self.contexts.append(context)
        if self.hook is not None:
            await self.hook(action)
        queued = self.script.get(action.action_id)
        if queued:
            outcome = queued.popleft()
        else:
            outcome = "failed" if action.action_id in self.always_fail else "ok"
        if outcome == "raise":
            raise RuntimeError(f"action {action.action_id} blew up (scripted)")
        status = ActionResultStatus.OK if outcome == "ok" else ActionResultStatus.FAILED
        return ActionResult(action_id=action.action_id, status=status, logs=f"{outcome}")


# --- MessageSource -----------------------------------------------------------------------


def message(
    offset: int,
    workflow_id: str = "wf",
    *,
    partition: int = 0,
    tag: str | None = None,
    key: bytes | None = None,
    value: bytes | None | str = "json",
) -> ConsumedMessage:
    """A record; by default a valid request whose `execution_id` is `tag` (or the offset)."""
    if value == "json":
        body = {"workflow_id": workflow_id, "execution_id": tag or str(offset)}
        value = json.dumps(body).encode()
    assert not isinstance(value, str)
    return ConsumedMessage(
        partition=partition,
        offset=offset,
        key=workflow_id.encode() if key is None else key,
        value=value,
    )


class FakeMessageSource:
    """MessageSource serving fed batches; records every commit."""

    def __init__(self, batches: Iterable[list[ConsumedMessage]] = ()) -> None:
        self._batches: deque[list[ConsumedMessage]] = deque(batches)
        self._more = asyncio.Event()
        self.commits: list[dict[int, int]] = []
        self.committed: dict[int, int] = {}
        self.fetches = 0
        self.empty_fetches = 0

    def feed(self, batch: list[ConsumedMessage]) -> None:
        self._batches.append(batch)
        self._more.set()

    async def fetch(self, *, timeout_s: float, max_records: int) -> list[ConsumedMessage]:
        self.fetches += 1
        if not self._batches:
            self._more.clear()
            try:
                await asyncio.wait_for(self._more.wait(), timeout=timeout_s)
            except TimeoutError:
                self.empty_fetches += 1
                return []
        batch = self._batches.popleft()
        if len(batch) > max_records:
            self._batches.appendleft(batch[max_records:])
            batch = batch[:max_records]
        return batch

    async def commit(self, offsets: dict[int, int]) -> None:
        self.commits.append(dict(offsets))
        for partition, offset in offsets.items():
            assert offset >= self.committed.get(partition, -1), "commit went backwards"
            self.committed[partition] = offset


class FakeDeadLetters:
    """DeadLetterSink keeping what it was sent; the first `failures` sends raise."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts = 0
        self.sent: list[tuple[ConsumedMessage, str]] = []

    async def send(self, message: ConsumedMessage, reason: str, detail: str) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise Unavailable(f"dead-letter write {self.attempts} failed (scripted)")
        self.sent.append((message, reason))


# --- harness -----------------------------------------------------------------------------


@dataclass
class Harness:
    """In-memory repositories, a fake clock, a scheduler and workers on top of them."""

    clock: FakeClock = field(default_factory=FakeClock)
    workflows: InMemoryWorkflowRepository = field(default_factory=InMemoryWorkflowRepository)
    executions: InMemoryExecutionRepository = field(default_factory=InMemoryExecutionRepository)
    publisher: InMemoryPublisher = field(default_factory=InMemoryPublisher)
    retries: int = 4
    backoff_scale: float = 1.0
    lease_s: float = 60.0
    record_after_s: float = 60.0  # RUNNER_RECORD_AFTER_MS in s: a new execution stored once

    def worker(
        self, actions: ScriptedActionRunner, *, lease_s: float | None = None,
        **options: int,
    ) -> ExecutionWorker:
        return ExecutionWorker(
            workflows=self.workflows,
            executions=self.executions,
            actions=actions,
            clock=self.clock,
            cancel_poll_s=0,  # the fake clock stands still: read the cancel flag every time
            retries=self.retries,
            backoff_scale=self.backoff_scale,
            lease_s=self.lease_s if lease_s is None else lease_s,
            record_after_s=self.record_after_s,
            **options,  # type: ignore[arg-type]
        )

    def scheduler(self, publisher: InMemoryPublisher | None = None, **kwargs: float) -> Scheduler:
        return Scheduler(
            workflows=self.workflows,
            executions=self.executions,
            publisher=publisher or self.publisher,
            clock=self.clock,
            **kwargs,  # type: ignore[arg-type]
        )

    async def add(self, workflow: Workflow) -> Workflow:
        await self.workflows.create(workflow)
        return workflow

    async def trigger(self, workflow_id: str) -> ExecutionRequest:
        """Claim a manual workflow as the API does; the request it would produce."""
        return await self.trigger_with_input(workflow_id, None)

    async def trigger_with_input(
        self, workflow_id: str, run_input: dict[str, Any] | None
    ) -> ExecutionRequest:
        """`trigger`, the claim carrying an input already checked (as the API checks it)."""
        execution_id = str(uuid.uuid4())
        now = self.clock.now()
        claimed = await self.workflows.claim_for_trigger(
            TriggerClaim(
                workflow_id=workflow_id,
                execution_id=execution_id,
                now=now,
                window_start=now,
                rate_limit=0,
                input=run_input,
            )
        )
        assert claimed, f"could not claim {workflow_id}"
        return ExecutionRequest(workflow_id=workflow_id, execution_id=execution_id)

    async def dispatch_due(self) -> list[ExecutionRequest]:
        """One scheduler tick; the requests it produced."""
        before = len(self.publisher.published)
        await self.scheduler().run_once()
        return self.publisher.published[before:]

    async def execution_of(self, workflow_id: str) -> list[Execution]:
        return await self.executions.list_for_workflow(
            workflow_id, status=None, before=None, limit=100
        )
