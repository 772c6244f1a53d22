"""Builders and checks shared by the contract tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.actions import HttpRequestAction, LogAction
from shared.domain.models import (
    Action,
    Trigger,
    TriggerStatus,
    TriggerType,
    Workflow,
    WorkflowStatus,
)
from shared.domain.timing import to_ms
from shared.ports import Release, TriggerClaim, WorkflowRepository
from tests.fakes.clock import FakeClock

# A start time with a sub-second part, so a lost millisecond would show.
T0 = FakeClock(datetime.fromisoformat("2026-03-04T05:06:07.123+00:00")).now()


def at(seconds: float) -> datetime:
    """T0 plus `seconds`, truncated to milliseconds as the database keeps it."""
    return to_ms(T0 + timedelta(seconds=seconds))


def actions() -> list[Action]:
    return [
        LogAction(action_id=1, message="hello"),
        HttpRequestAction(action_id=2, url="https://example.com/x", method="POST"),
    ]


def manual(workflow_id: str, **fields: Any) -> Workflow:
    trigger = Trigger(
        type=TriggerType.MANUAL,
        status=fields.pop("trigger_status", None),
        next_run=fields.pop("next_run", None),
    )
    return Workflow(
        workflow_id=workflow_id, created_at=T0, trigger=trigger, actions=actions(), **fields
    )


def periodic(workflow_id: str, next_run: datetime | None, **fields: Any) -> Workflow:
    trigger = Trigger(
        type=TriggerType.PERIODIC,
        interval="10s",
        interval_ms=10_000,
        next_run=next_run,
        status=fields.pop("trigger_status", None),
    )
    return Workflow(
        workflow_id=workflow_id, created_at=T0, trigger=trigger, actions=actions(), **fields
    )


def claim(
    workflow_id: str,
    execution_id: str = "exec-1",
    *,
    now: datetime = T0,
    window_start: datetime = T0,
    rate_limit: int = 0,
) -> TriggerClaim:
    return TriggerClaim(
        workflow_id=workflow_id,
        execution_id=execution_id,
        now=now,
        window_start=window_start,
        rate_limit=rate_limit,
    )


async def back_to_idle(
    repo: WorkflowRepository,
    workflow_id: str,
    *,
    trigger_status: TriggerStatus | None = None,
    next_run: datetime | None = None,
    execution_id: str | None = None,
) -> None:
    """Take a scheduled workflow through lock and release, as a runner does."""
    token = f"tok-{workflow_id}-back"
    assert await repo.lock(workflow_id, token=token, lease_until=at(60)) is not None
    assert await repo.release(Release(workflow_id, token, trigger_status, next_run, execution_id))
    stored = await repo.get(workflow_id)
    assert stored is not None and stored.status == WorkflowStatus.ACTIVE


def assert_utc_ms(*moments: datetime | None) -> None:
    """Each datetime is timezone-aware UTC with (at most) millisecond precision."""
    for moment in moments:
        assert moment is not None
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0), moment
        assert moment.microsecond % 1000 == 0, moment
