"""In-memory ExecutionRepository and publisher, for unit tests (see `shared.adapters.memory`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from shared.domain.errors import Unavailable
from shared.domain.models import ActionStatus, Execution, ExecutionRequest, ExecutionStatus

_REOPENABLE = (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


class InMemoryExecutionRepository:
    """ExecutionRepository over a dict of models."""

    def __init__(self) -> None:
        self._items: dict[str, Execution] = {}

    async def get_or_create(self, execution: Execution) -> Execution:
        stored = self._items.setdefault(execution.id, execution.model_copy(deep=True))
        return stored.model_copy(deep=True)

    async def insert(self, execution: Execution) -> bool:
        if execution.id in self._items:
            return False
        self._items[execution.id] = execution.model_copy(deep=True)
        return True

    async def save_attempt(
        self, execution: Execution, *, changed_actions: Collection[str],
        expected_retries: int | None = None,
    ) -> bool:
        stored = self._items.get(execution.id)
        if stored is None:
            return False
        if expected_retries is not None and (
            stored.status != ExecutionStatus.PENDING or stored.retries != expected_retries
        ):
            return False
        stored.status = execution.status
        stored.retries = execution.retries
        stored.attempt = execution.attempt
        stored.finished_at = execution.finished_at
        stored.reason = execution.reason
        stored.waiting = execution.waiting
        stored.actions.update(
            {key: execution.actions[key].model_copy(deep=True) for key in changed_actions}
        )
        return True

    async def deliver_signal(self, execution_id: str, key: str, signal: str, payload: Any
                             ) -> bool:
        stored = self._items.get(execution_id)
        state = stored.actions.get(key) if stored else None
        wait = state.wait if state else None
        if stored is None or state is None or wait is None or stored.status != (
            ExecutionStatus.PENDING
        ) or state.status != ActionStatus.WAITING or wait.signal != signal or wait.delivered:
            return False
        state.wait = wait.model_copy(update={"delivered": True, "payload": payload})
        return True

    async def cancel(self, execution: Execution) -> Execution:
        stored = self._items.setdefault(execution.id, execution.model_copy(deep=True))
        if stored.status == ExecutionStatus.PENDING:
            stored.status = execution.status
            stored.finished_at = execution.finished_at
            stored.reason = execution.reason
            stored.waiting = None  # settled: it waits for nothing any more
        return stored.model_copy(deep=True)

    async def get(self, execution_id: str) -> Execution | None:
        found = self._items.get(execution_id)
        return found.model_copy(deep=True) if found else None

    async def list_for_workflow(
        self, workflow_id: str, *, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> list[Execution]:
        return await self.list_executions(
            workflow_id=workflow_id, status=status, before=before, limit=limit
        )

    async def list_executions(
        self, *, workflow_id: str | None, status: ExecutionStatus | None,
        before: tuple[datetime, str] | None, limit: int,
    ) -> list[Execution]:
        rows = [
            e for e in self._items.values()
            if workflow_id in (None, e.workflow_id) and (status is None or e.status == status)
            and (before is None or (e.created_at, e.id) < before)
        ]
        rows.sort(key=lambda e: (e.created_at, e.id), reverse=True)
        return [e.model_copy(deep=True) for e in rows[:limit]]

    async def request_cancel(self, execution_id: str) -> bool:
        stored = self._items.get(execution_id)
        if stored is None or stored.status != ExecutionStatus.PENDING:
            return False
        stored.cancel_requested = True
        return True

    async def reopen(self, execution_id: str, *, retries: int, reset_actions: Collection[str]
                     ) -> Execution | None:
        stored = self._items.get(execution_id)
        if stored is None or stored.status not in _REOPENABLE:
            return None
        stored.status, stored.retries, stored.finished_at = ExecutionStatus.PENDING, retries, None
        stored.reason, stored.cancel_requested, stored.waiting = None, False, None
        for key in reset_actions:
            if key in stored.actions:
                stored.actions[key].status = ActionStatus.PENDING
        return stored.model_copy(deep=True)


class InMemoryPublisher:
    """ExecutionRequestPublisher that records what it was asked to produce."""

    def __init__(self) -> None:
        self.published: list[ExecutionRequest] = []
        self.fail_next = 0

    async def publish(self, request: ExecutionRequest) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise Unavailable("broker unavailable (simulated)")
        self.published.append(request)

    async def publish_many(self, requests: Sequence[ExecutionRequest]) -> list[bool]:
        acked = []
        for request in requests:
            try:
                await self.publish(request)
                acked.append(True)
            except Unavailable:
                acked.append(False)
        return acked
