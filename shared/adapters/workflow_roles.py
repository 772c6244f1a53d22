"""The workflow role methods (`shared.ports`), each one lifecycle transition or query.

An adapter supplies the primitives (run a transition, select by a query); the mapping from
each port method to its transition, and its parameters, is written here once.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.adapters.coalesce import Coalescer
from shared.domain.errors import Unavailable
from shared.domain.lifecycle import queries as lq
from shared.domain.lifecycle import transitions as lc
from shared.domain.lifecycle.fields import CLAIM_ID, EXECUTION_ID, LOCK_TOKEN
from shared.domain.lifecycle.language import Query, Transition
from shared.domain.models import Workflow
from shared.ports import DueClaim, DueWorkflow, Release, TriggerClaim, WakeClaim

Call = tuple[str, Mapping[str, Any]]  # a workflow id and a transition's parameters
Applied = tuple[Transition, Call]


class WorkflowRoles(ABC):
    """Claims, dispatch, leases and settling on top of an adapter's primitives."""

    _locks: Coalescer[Call, Workflow | None] | None = None
    _releases: Coalescer[Release, bool] | None = None
    _triggers: Coalescer[Applied, bool] | None = None

    @abstractmethod
    async def get(self, workflow_id: str) -> Workflow | None: ...

    @abstractmethod
    async def apply(self, transition: Transition, workflow_id: str,
                    params: Mapping[str, Any]) -> bool:
        """Run `transition` as one compare-and-set; whether its precondition held."""

    @abstractmethod
    async def _apply_many(self, transition: Transition, calls: Sequence[Call], *,
                          stamp: str = CLAIM_ID) -> list[bool]:
        """`apply` for each call, as one batch; whether each one's precondition held.

        `transition` sets the field `stamp` to a parameter that is a fresh id in each call."""

    @abstractmethod
    async def _apply_returning(self, transition: Transition, workflow_id: str,
                               params: Mapping[str, Any]) -> Workflow | None:
        """`apply`, returning the workflow after it (None when the precondition failed)."""

    @abstractmethod
    async def _apply_many_returning(self, transition: Transition, calls: Sequence[Call], *,
                                    stamp: str) -> list[Workflow | None]:
        """`_apply_returning` for each call, as one batch (distinct workflows).

        `transition` writes into the field `stamp` a value fresh in each call, which nothing
        else writes while the workflow is in the state it leaves it in."""

    @abstractmethod
    async def _select(self, query: Query, params: Mapping[str, Any], limit: int
                      ) -> list[Workflow]: ...

    @abstractmethod
    async def _select_due(self, query: Query, params: Mapping[str, Any], limit: int
                          ) -> list[DueWorkflow]: ...

    @abstractmethod
    async def _first_next_run(self, query: Query, params: Mapping[str, Any]
                              ) -> datetime | None: ...

    @abstractmethod
    async def _count(self, query: Query, params: Mapping[str, Any], limit: int) -> int:
        """How many workflows `query` selects, counting no further than `limit`."""

    async def count_queued(self, *, older_than: datetime, limit: int) -> int:
        return await self._count(lq.QUEUED_BEFORE, {"older_than": older_than}, limit)

    async def claim_for_trigger(self, claim: TriggerClaim) -> bool:
        applied = _trigger_claim(claim)
        if self._triggers is None:
            transition, (workflow_id, params) = applied
            return await self.apply(transition, workflow_id, params)
        return await self._triggers.submit(applied)

    async def _claim_triggers(self, claims: list[Applied]) -> list[bool | Exception]:
        """`claim_for_trigger` for each, one batch per transition and precondition: calls
        share their precondition's parameters (the rate window, whether input was given)."""
        groups: dict[Hashable, list[int]] = {}
        for i, (transition, (_, params)) in enumerate(claims):
            shared = (params[name] for name in transition.requires_params)
            groups.setdefault((transition.name, *shared), []).append(i)
        won: list[bool | Exception] = [False] * len(claims)

        async def claim_group(rows: list[int]) -> None:
            transition = claims[rows[0]][0]
            group: Sequence[bool | Exception]
            try:
                group = await self._apply_many(
                    transition, [claims[i][1] for i in rows], stamp=EXECUTION_ID
                )
            except Exception as exc:  # each claim of the group raises it
                group = [exc] * len(rows)
            for i, result in zip(rows, group, strict=True):
                won[i] = result

        await asyncio.gather(*(claim_group(rows) for rows in groups.values()))
        return won

    async def undo_trigger_claim(self, claim: TriggerClaim) -> bool:
        params = {"execution_id": claim.execution_id}
        in_window = {**params, "window_start": claim.window_start}
        if await self.apply(lc.UNDO_TRIGGER_IN_WINDOW, claim.workflow_id, in_window):
            return True
        return await self.apply(lc.UNDO_TRIGGER, claim.workflow_id, params)

    async def archive(self, workflow_id: str, now: datetime) -> Workflow | None:
        for transition in (lc.ARCHIVE_IDLE, lc.ARCHIVE):
            archived = await self._apply_returning(transition, workflow_id, {"now": now})
            if archived is not None:
                return archived
        return await self.get(workflow_id)

    async def find_archived_unsettled(self, *, limit: int) -> list[Workflow]:
        return await self._select(lq.ARCHIVED_UNSETTLED, {}, limit)

    async def clear_archived_execution(self, workflow_id: str, execution_id: str) -> bool:
        params = {"execution_id": execution_id}
        return await self.apply(lc.CLEAR_ARCHIVED_EXECUTION, workflow_id, params)

    async def find_due(
        self, now: datetime, *, after: DueWorkflow | None, limit: int
    ) -> list[DueWorkflow]:
        if after is None:
            return await self._select_due(lq.DUE, {"now": now}, limit)
        params = {"now": now, "after_next_run": after.next_run, "after_id": after.workflow_id}
        return await self._select_due(lq.DUE_AFTER, params, limit)

    async def claim_due(
        self, due: DueWorkflow, *, now: datetime, execution_id: str, next_run: datetime | None
    ) -> bool:
        _, params = _due_call(DueClaim(due, now, execution_id, next_run))
        return await self.apply(lc.CLAIM_DUE, due.workflow_id, params)

    async def claim_due_many(self, claims: Sequence[DueClaim]) -> list[bool]:
        return await self._apply_many(lc.CLAIM_DUE, [_due_call(c) for c in claims])

    async def pass_due(self, due: DueWorkflow, *, next_run: datetime | None) -> bool:
        params = {"observed_next_run": due.next_run, "next_run": next_run}
        return await self.apply(lc.PASS_DUE, due.workflow_id, params)

    async def find_stuck_scheduled(
        self, older_than: datetime, *, limit: int
    ) -> list[DueWorkflow]:
        return await self._select_due(lq.QUEUED_BEFORE, {"older_than": older_than}, limit)

    async def refresh_scheduled(self, due: DueWorkflow, *, now: datetime) -> bool:
        params = {"observed_scheduled_at": due.scheduled_at, "now": now}
        return await self.apply(lc.REFRESH_SCHEDULED, due.workflow_id, params)

    async def find_expired_locks(self, now: datetime, *, limit: int) -> list[DueWorkflow]:
        return await self._select_due(lq.EXPIRED_LOCKS, {"now": now}, limit)

    async def recover_lock(self, due: DueWorkflow, *, now: datetime) -> bool:
        params = {"observed_token": due.lock_token, "now": now}
        return await self.apply(lc.RECOVER_LOCK, due.workflow_id, params)

    async def earliest_next_run(self, after: datetime) -> datetime | None:
        return await self._first_next_run(lq.NEXT_RUNS, {"after": after})

    async def lock(
        self, workflow_id: str, *, token: str, lease_until: datetime
    ) -> Workflow | None:
        call = (workflow_id, {"token": token, "lease_until": lease_until})
        if self._locks is None:
            return await self._apply_returning(lc.LOCK_FOR_RUN, *call)
        return await self._locks.submit(call)

    async def _lock_many(self, calls: list[Call]) -> list[Workflow | None]:
        """`lock` for each call, as one batch of distinct workflows."""
        return await self._apply_many_returning(lc.LOCK_FOR_RUN, calls, stamp=LOCK_TOKEN)

    async def extend_lease(self, workflow_id: str, *, token: str, lease_until: datetime) -> bool:
        params = {"token": token, "lease_until": lease_until}
        return await self.apply(lc.EXTEND_LEASE, workflow_id, params)

    async def release(self, release: Release) -> bool:
        if self._releases is None:
            return await self.apply(lc.RELEASE, *_release_call(release))
        return await self._releases.submit(release)

    async def release_many(self, releases: Sequence[Release]) -> list[bool]:
        """`release` for each, as one batch of distinct workflows; whether each one held."""
        return await self._apply_many(lc.RELEASE, [_release_call(r) for r in releases])

    def _coalesce_writes(self) -> None:
        """Concurrent trigger claims, `lock`s and `release`s go as one batch each
        (`shared.adapters.coalesce`)."""
        # A trigger answers within a bound: in an outage, those queued behind a failed batch
        # are answered 503 at once rather than after their own timeout.
        self._triggers = Coalescer(self._claim_triggers, key=lambda applied: applied[1][0],
                                   fails_queued=lambda exc: isinstance(exc, Unavailable))
        self._locks = Coalescer(self._lock_many, key=lambda call: call[0])
        self._releases = Coalescer(self.release_many, key=lambda r: r.workflow_id)

    async def park(self, workflow_id: str, *, token: str, wake_at: datetime | None) -> bool:
        return await self.apply(lc.WAIT, workflow_id, {"token": token, "wake_at": wake_at})

    async def find_waking(
        self, now: datetime, *, after: DueWorkflow | None, limit: int
    ) -> list[DueWorkflow]:
        if after is None:
            return await self._select_due(lq.WAKING, {"now": now}, limit)
        params = {"now": now, "after_next_run": after.next_run, "after_id": after.workflow_id}
        return await self._select_due(lq.WAKING_AFTER, params, limit)

    async def wake(self, workflow_id: str, *, execution_id: str, now: datetime,
                   next_run: datetime | None) -> bool:
        _, params = _wake_call(WakeClaim(workflow_id, execution_id, now, next_run))
        return await self.apply(lc.WAKE, workflow_id, params)

    async def wake_many(self, wakes: Sequence[WakeClaim]) -> list[bool]:
        return await self._apply_many(lc.WAKE, [_wake_call(w) for w in wakes])


def _claim_id() -> str:
    return uuid.uuid4().hex


def _trigger_claim(claim: TriggerClaim) -> Applied:
    # The claim writes the new execution's id, fresh: the stamp a batch reads winners by
    # (its request is produced after the claim returns; see `_apply_many`).
    params = {
        "now": claim.now, "execution_id": claim.execution_id, "input": claim.input,
        "input_given": claim.input is not None,
    }
    if not claim.rate_limit:
        return lc.CLAIM_TRIGGER, (claim.workflow_id, params)
    rated = {**params, "window_start": claim.window_start, "rate_limit": claim.rate_limit}
    return lc.CLAIM_TRIGGER_RATED, (claim.workflow_id, rated)


def _due_call(claim: DueClaim) -> Call:
    due = claim.due
    return due.workflow_id, {
        "observed_next_run": due.next_run, "observed_trigger_status": due.trigger_status,
        "now": claim.now, "execution_id": claim.execution_id, "next_run": claim.next_run,
        "claim_id": _claim_id(),
        # a retry keeps the execution it continues; any other id is a new execution
        "fresh_execution": claim.execution_id != due.execution_id,
    }


def _release_call(release: Release) -> Call:
    return release.workflow_id, {
        "token": release.lock_token, "trigger_status": release.trigger_status,
        "next_run": release.next_run, "execution_id": release.execution_id,
        "interrupted_attempts": release.interrupted_attempts, "claim_id": _claim_id(),
    }


def _wake_call(wake: WakeClaim) -> Call:
    return wake.workflow_id, {
        "execution_id": wake.execution_id, "now": wake.now, "next_run": wake.next_run,
        "claim_id": _claim_id(),
    }
