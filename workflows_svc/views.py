"""Domain models -> API bodies, and opaque pagination cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from shared.domain.errors import InvalidInput
from shared.domain.models import Execution, Trigger, Workflow
from shared.domain.timing import seconds_until
from workflows_svc.schemas import (
    ActionOut,
    ExecutionOut,
    TriggerOut,
    WorkflowOut,
)


def workflow_out(workflow: Workflow, now: datetime) -> WorkflowOut:
    trigger = workflow.trigger
    return WorkflowOut(
        workflow_id=workflow.workflow_id,
        status=workflow.status.value,
        created_at=workflow.created_at,
        archived_at=workflow.archived_at,
        trigger=TriggerOut(
            type=trigger.type.value, interval=trigger.interval, interval_ms=trigger.interval_ms,
            next_run=trigger.next_run, status=trigger.status.value if trigger.status else None,
            **trigger_v2_fields(trigger),
        ),
        actions=[ActionOut(**a.model_dump(mode="json")) for a in workflow.actions],
        seconds_to_next_run=round(seconds_until(trigger.next_run, now), 3),
    )


def trigger_v2_fields(trigger: Trigger) -> dict[str, Any]:
    """The Part II trigger fields of the answer (left out when unset)."""
    return trigger.model_dump(
        include={"cron", "timezone", "at", "after", "input", "overlap", "catchup_window"}
    )


def execution_out(execution: Execution) -> ExecutionOut:
    """The v1 answer: the flat `executed_actions` and `last_failed_action` of the record."""
    fields = execution.model_dump(mode="json", exclude={"actions"})
    fields["executed_actions"] = [r.model_dump(mode="json") for r in execution.executed_actions]
    fields["last_failed_action"] = execution.last_failed_action
    return ExecutionOut.model_validate(fields)


def encode_cursor(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *keys: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(value, dict) or any(not isinstance(value.get(k), str) for k in keys):
            raise ValueError(cursor)
        return value
    except ValueError as exc:
        raise InvalidInput("cursor is not valid") from exc


def workflow_cursor(cursor: str | None) -> str | None:
    return None if cursor is None else str(decode_cursor(cursor, "after")["after"])


def execution_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    value = decode_cursor(cursor, "t", "id")
    try:
        moment = datetime.fromisoformat(value["t"])
        if moment.utcoffset() is None:
            raise ValueError("no UTC offset")
        # In UTC, as stored: an offset that moves it out of years 1-9999 raises OverflowError
        # here rather than in the driver's BSON encoding (which answered a 500).
        return moment.astimezone(UTC), value["id"]
    except (ValueError, OverflowError) as exc:
        raise InvalidInput("cursor is not valid") from exc
