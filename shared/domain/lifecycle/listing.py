"""`GET /workflows` as a lifecycle query: by id, after a cursor, with the list's filters."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.lifecycle.fields import (
    ARCHIVED_AT,
    PAUSED_AT,
    STATUS,
    TRIGGER_TYPE,
    WORKFLOW_ID,
)
from shared.domain.lifecycle.language import Clause, Query, eq, gt, is_null, not_null
from shared.domain.models import TriggerType, WorkflowStatus


@dataclass(frozen=True, slots=True)
class WorkflowFilter:
    """What `GET /workflows` may filter on; None: any."""

    status: WorkflowStatus | None = None
    trigger_type: TriggerType | None = None
    paused: bool | None = None
    archived: bool | None = None


def listing(*, after_id: str | None, filters: WorkflowFilter | None = None) -> Query:
    """The workflows after `after_id` that match every filter given, ordered by id."""
    wanted = filters or WorkflowFilter()
    status, trigger_type = wanted.status, wanted.trigger_type
    paused, archived = wanted.paused, wanted.archived
    where: list[Clause] = []
    if after_id is not None:
        where.append(gt(WORKFLOW_ID, after_id))
    if status is not None:
        where.append(eq(STATUS, status))
    if trigger_type is not None:
        where.append(eq(TRIGGER_TYPE, trigger_type))
    if paused is not None:
        where.append(not_null(PAUSED_AT) if paused else is_null(PAUSED_AT))
    if archived is not None:
        where.append(not_null(ARCHIVED_AT) if archived else is_null(ARCHIVED_AT))
    return Query("list", tuple(where), (WORKFLOW_ID,))
