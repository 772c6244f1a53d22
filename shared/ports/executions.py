"""The executions' store."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from shared.domain.models import (
    Execution,
    ExecutionStatus,
)


class ExecutionRepository(Protocol):
    async def get_or_create(self, execution: Execution) -> Execution:
        """The stored execution with this id, inserting `execution` if there is none."""
        ...

    async def insert(self, execution: Execution) -> bool:
        """Store `execution` unless one with its id exists; whether it was stored."""
        ...

    async def save_attempt(
        self, execution: Execution, *, changed_actions: Collection[str],
        expected_retries: int | None = None,
    ) -> bool:
        """Persist status, counters, `attempt` and the entries of `execution.actions` keyed
        `changed_actions` (the actions this attempt ran); other entries are left as stored.

        With `expected_retries`, only while the stored execution is still pending with that
        many retries left (a compare-and-set: a runner that lost its lease cannot overwrite
        the attempt of the runner that took over); whether it was saved.
        """
        ...

    async def deliver_signal(self, execution_id: str, key: str, signal: str, payload: Any
                             ) -> bool:
        """Store `payload` on the action `key` parked on `signal` and not yet delivered (CAS);
        whether it was stored."""
        ...

    async def cancel(self, execution: Execution) -> Execution:
        """Settle an execution that will not run again; the stored execution.

        `execution` is a cancelled one (status, `finished_at`, `reason`). It is inserted when
        no execution has its id; a pending one takes its status, `finished_at` and `reason`
        and waits for nothing any more (`waiting` cleared; a compare-and-set on `pending`);
        a finished one stays as it is.
        """
        ...

    async def get(self, execution_id: str) -> Execution | None: ...

    async def list_for_workflow(
        self, workflow_id: str, *, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> list[Execution]:
        """Newest first, strictly before the (created_at, id) cursor."""
        ...

    async def list_executions(
        self, *, workflow_id: str | None, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> list[Execution]:
        """`list_for_workflow` over every workflow (`workflow_id` None) or one."""
        ...

    async def request_cancel(self, execution_id: str) -> bool:
        """Flag a pending execution to be cancelled (its runner starts no further action)."""
        ...

    async def reopen(self, execution_id: str, *, retries: int, reset_actions: Collection[str]
                     ) -> Execution | None:
        """A failed or cancelled execution -> pending with `retries` left, not finished, no
        cancel flag, the `reset_actions` entries pending again (CAS); the reopened one."""
        ...
