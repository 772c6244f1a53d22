"""The scheduler loop: dispatch due runs, re-dispatch stuck ones, recover expired leases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler_svc.due import (
    bounded,
    decide_slot,
    execution_id_for,
    in_parts,
    prefetched_pages,
    request_for,
)
from scheduler_svc.wakes import wake_due
from scheduler_svc.wakeups import WakeUps, maintenance_due, stop_watching
from shared.domain.models import (
    Execution,
    ExecutionRequest,
    ExecutionStatus,
    Workflow,
)
from shared.domain.schedules import DueDecision
from shared.infra.logs import get_logger
from shared.infra.metrics import DISPATCHES, EXECUTIONS, SCHEDULER_TICK, SKIPPED_SLOTS
from shared.ports import (
    Clock,
    DueClaim,
    DueWorkflow,
    ExecutionRepository,
    ExecutionRequestPublisher,
    NextRunWatch,
    SchedulerWorkflows,
)
from shared.service_layer.settle import settle_archived

log = get_logger(__name__)
WATCH_STOP_TIMEOUT_S = 3.0  # a change-stream read ends within its max await (0.5 s)
MAINTENANCE_EVERY_S = 1.0  # stuck, expired-lease and archived passes, at most this often
FaultHook = Callable[[str], None]


@dataclass
class TickReport:
    dispatched: int = 0
    retries: int = 0  # of the dispatched: attempts that continue a pending execution
    redispatched: int = 0
    recovered: int = 0
    unacknowledged: int = 0
    cancelled: int = 0
    woken: int = 0  # executions parked on a delay or a signal, dispatched again


class Scheduler:
    """Finds due workflows in batches and dispatches each one exactly once."""

    def __init__(
        self, *, workflows: SchedulerWorkflows, executions: ExecutionRepository,
        publisher: ExecutionRequestPublisher, clock: Clock, interval_s: float = 5.0,
        batch_size: int = 500,
        scheduled_timeout_s: float = 30.0, fault_hook: FaultHook | None = None,
        watch: NextRunWatch | None = None,
    ) -> None:
        self._workflows = workflows
        self._executions = executions
        self._publisher = publisher
        self._clock = clock
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._scheduled_timeout = timedelta(seconds=scheduled_timeout_s)
        self._fault_hook = fault_hook or (lambda _: None)
        self._watch = watch
        self._wakeups = WakeUps(clock)
        self._maintenance_every_s = min(interval_s, MAINTENANCE_EVERY_S)
        self._maintained_at: datetime | None = None

    async def run(self) -> None:
        """Tick until `stop()`; a failing tick is logged and retried on the next one."""
        watch, watching = self._watch, None
        if watch is not None:
            watching = asyncio.create_task(watch.run(self._wakeups.nudge))
        try:
            while not self._wakeups.stopped:
                await self._tick_and_sleep()
        finally:
            if watch is not None:
                await stop_watching(watch, watching, timeout_s=WATCH_STOP_TIMEOUT_S)

    async def _tick_and_sleep(self) -> None:
        try:
            started = self._clock.now()
            self._wakeups.begin_tick()
            maintain = maintenance_due(started, self._maintained_at, self._maintenance_every_s)
            await self.run_once(started, maintenance=maintain)
            if maintain:
                self._maintained_at = started
            # From the tick's start, not its end: a run that fell due while the tick ran
            # matched neither its due query nor a wake-up after its end.
            earliest = await self._workflows.earliest_next_run(started)
        except Exception as exc:
            log.exception("scheduler tick failed", error=repr(exc))
            await self._wakeups.sleep(None, max_s=min(self._interval_s, 1.0))
            return
        await self._wakeups.sleep(earliest, max_s=self._interval_s)

    def stop(self) -> None:
        self._wakeups.stop()

    async def run_once(
        self, now: datetime | None = None, *, maintenance: bool = True
    ) -> TickReport:
        """One pass over due and waking workflows, as of `now`; with `maintenance`, also over
        stuck, expired-lease and archived ones."""
        started = time.perf_counter()
        now = now or self._clock.now()
        report = TickReport()
        # Disjoint sets (a parked workflow is never due), so neither waits for the other; both
        # end before a failure of either is raised (a PyMongo call is never cancelled).
        for outcome in await asyncio.gather(
            self._dispatch_due(now, report), self._wake(now, report), return_exceptions=True
        ):
            if isinstance(outcome, BaseException):
                raise outcome
        if maintenance:
            await self._redispatch_stuck(now, report)
            await self._recover_leases(now, report)
            await self._settle_archived(now, report)
        SCHEDULER_TICK.observe(time.perf_counter() - started)
        if (report.dispatched or report.redispatched or report.recovered or report.cancelled
                or report.woken):
            log.info("scheduler tick", **report.__dict__)
        return report

    async def _dispatch_due(self, now: datetime, report: TickReport) -> None:
        """Page by page: claim a page in one batch, send it while the next is claimed."""
        def page(after: DueWorkflow | None) -> Awaitable[list[DueWorkflow]]:
            return self._workflows.find_due(now, after=after, limit=self._batch_size)

        sending: asyncio.Task[None] | None = None
        try:
            async with aclosing(prefetched_pages(page, self._batch_size)) as pages:
                async for batch in pages:
                    requests = await self._claim_batch(batch, now, report)
                    if sending is not None:
                        await sending  # one batch in flight: the memory stays a batch or two
                    sending = asyncio.create_task(self._publish(requests, "due", report))
                    if self._wakeups.stopped:
                        return  # when stopping, the next batches are left to the next scheduler
        finally:
            if sending is not None:
                await sending

    async def _claim_batch(
        self, batch: list[DueWorkflow], now: datetime, report: TickReport
    ) -> list[ExecutionRequest]:
        """The requests of the claims of `batch` that won (one round trip for all)."""
        claims = await self._claims(batch, now)
        won = await in_parts(claims, self._workflows.claim_due_many)
        winners = [claim for claim, ok in zip(claims, won, strict=True) if ok]
        self._fault_hook("after_claim")
        report.dispatched += len(winners)
        report.retries += sum(1 for c in winners if c.execution_id == c.due.execution_id)
        return [request_for(c) for c in winners]

    async def _claims(self, batch: list[DueWorkflow], now: datetime) -> list[DueClaim]:
        """The claims of a due batch, once the slots older than the catch-up window passed."""
        claims, passed = [], []
        for due in batch:
            decision = decide_slot(due, now)
            if decision.run:
                claims.append(DueClaim(due, now, execution_id_for(due), decision.next_run))
            else:
                passed.append((due, decision))
        await bounded(passed, lambda pair: self._pass(*pair))
        return claims

    async def _pass(self, due: DueWorkflow, decision: DueDecision) -> None:
        if await self._workflows.pass_due(due, next_run=decision.next_run):
            SKIPPED_SLOTS.labels(decision.reason).inc()
            log.info("slot passed: older than the catch-up window",
                     workflow_id=due.workflow_id, slot=due.next_run)

    async def _wake(self, now: datetime, report: TickReport) -> None:
        woken, unacked = await wake_due(
            self._workflows, self._publisher, now, batch_size=self._batch_size
        )
        DISPATCHES.labels("wake").inc(woken)
        report.woken += woken
        report.unacknowledged += unacked

    async def _redispatch_stuck(self, now: datetime, report: TickReport) -> None:
        stuck = await self._workflows.find_stuck_scheduled(
            now - self._scheduled_timeout, limit=self._batch_size
        )

        async def refresh(due: DueWorkflow) -> ExecutionRequest | None:
            if not await self._workflows.refresh_scheduled(due, now=now):
                return None
            return ExecutionRequest(workflow_id=due.workflow_id, execution_id=due.execution_id)

        requests = [r for r in await bounded(stuck, refresh) if r is not None]
        await self._publish(requests, "stuck", report)
        report.redispatched += len(requests)

    async def _recover_leases(self, now: datetime, report: TickReport) -> None:
        expired = await self._workflows.find_expired_locks(now, limit=self._batch_size)

        async def recover(due: DueWorkflow) -> ExecutionRequest | None:
            if not await self._workflows.recover_lock(due, now=now):
                return None
            log.warning("lock lease expired; re-dispatching", workflow_id=due.workflow_id)
            return ExecutionRequest(workflow_id=due.workflow_id, execution_id=due.execution_id)

        requests = [r for r in await bounded(expired, recover) if r is not None]
        await self._publish(requests, "lease_expired", report)
        report.recovered += len(requests)

    async def _settle_archived(self, now: datetime, report: TickReport) -> None:
        """Cancel what archiving stopped and nobody settled (see `shared.service_layer.settle`)."""
        archived = await self._workflows.find_archived_unsettled(limit=self._batch_size)

        async def settle(workflow: Workflow) -> Execution | None:
            return await settle_archived(
                workflow, workflows=self._workflows, executions=self._executions, now=now
            )

        settled = [e for e in await bounded(archived, settle) if e is not None]
        cancelled = [e for e in settled if e.status == ExecutionStatus.CANCELLED]
        if cancelled:
            EXECUTIONS.labels(ExecutionStatus.CANCELLED.value).inc(len(cancelled))
        report.cancelled += len(cancelled)

    async def _publish(
        self, requests: list[ExecutionRequest], kind: str, report: TickReport
    ) -> None:
        if not requests:
            return
        acked = await self._publisher.publish_many(requests)
        missing = acked.count(False)
        DISPATCHES.labels(kind).inc(len(requests) - missing)
        if missing:
            # Left `scheduled`: the stuck-run recovery re-dispatches them after the timeout.
            report.unacknowledged += missing
            log.warning("requests not acknowledged by Kafka", count=missing, kind=kind)

