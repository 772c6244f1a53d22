"""Domain models -> API bodies, and opaque pagination cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from shared.actions import Action
from shared.domain.errors import InvalidInput
from shared.domain.models import ActionRun, ActionState, Execution, Trigger, Waiting, Workflow
from shared.domain.timing import seconds_until
from shared.domain.versions import TRIGGER_STATE, WorkflowVersion
from shared.infra.redact import mask_credentials
from workflows_svc.lifecycle_schemas import VersionOut
from workflows_svc.schemas import (
    ActionOut,
    ExecutionOut,
    TriggerOut,
    WorkflowOut,
)

_ACTIONS = TypeAdapter(list[Action])
_V1_KEYS = frozenset({"type", "interval", "interval_ms"})
_DERIVED = frozenset({"input_required", "catchup_window_ms"})  # computed from the definition


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
        actions=[action_out(a) for a in workflow.actions],
        seconds_to_next_run=round(seconds_until(trigger.next_run, now), 3),
        version=workflow.version, paused_at=workflow.paused_at, updated_at=workflow.updated_at,
        description=workflow.description, labels=workflow.labels,
    )


def action_out(action: Action) -> ActionOut:
    """An action as answered; a URL's userinfo (`https://user:pass@host/`) shows as `***`."""
    fields = action.model_dump(mode="json")
    if isinstance(fields.get("url"), str):
        fields["url"] = mask_credentials(fields["url"])
    return ActionOut(**fields)


def trigger_v2_fields(trigger: Trigger) -> dict[str, Any]:
    """The Part II trigger fields of the answer (left out when unset)."""
    return trigger.model_dump(
        include={"cron", "timezone", "at", "after", "input", "overlap", "catchup_window"}
    )


def execution_out(execution: Execution, waiting: Waiting | None = None) -> ExecutionOut:
    """The v1 fields (the flat `executed_actions` and `last_failed_action` of the record) and
    SPEC 12's; `waiting` overrides the execution's own (a backoff is its workflow's)."""
    fields = execution.model_dump(mode="json", exclude={"actions", "waiting"})
    fields["executed_actions"] = [
        {"action_id": state.action_id, "name": name, **run.model_dump(mode="json", exclude={
            "seq"})}
        for name, state, run in _runs_in_order(execution)
    ]
    fields["last_failed_action"] = execution.last_failed_action
    shown = waiting or execution.waiting
    fields["waiting"] = shown.model_dump(mode="json") if shown else None
    return ExecutionOut.model_validate(fields)


def _runs_in_order(execution: Execution) -> list[tuple[str, ActionState, ActionRun]]:
    runs = [(name, s, run) for name, s in execution.actions.items() for run in s.runs]
    return sorted(runs, key=lambda entry: entry[2].seq)


def version_out(version: WorkflowVersion) -> VersionOut:
    """A kept version: its trigger's and actions' definition."""
    actions = _ACTIONS.validate_python(version.definition.get("actions", []))
    return VersionOut(
        workflow_id=version.workflow_id, version=version.version, defined_at=version.defined_at,
        trigger=_defined_trigger(version.trigger),
        actions=[action_out(a) for a in actions],
    )


def _defined_trigger(trigger: Trigger) -> dict[str, Any]:
    """A trigger's definition as answered: v1's keys always, Part II's when set."""
    fields = trigger.model_dump(mode="json", exclude=set(TRIGGER_STATE) | _DERIVED)
    return {k: v for k, v in fields.items() if k in _V1_KEYS or v is not None}


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
