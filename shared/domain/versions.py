"""Workflow versions (SPEC 12): what a PUT replaces, and the definition a run started with.

A stored workflow carries its current definition and `version`. A PUT first keeps the
definition it replaces as a `WorkflowVersion`, then swaps the definition in one
compare-and-set on the version, so every version a run may have started with stays readable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.domain.models import Execution, Trigger, Workflow

# Fields of a workflow that are its live state or identity, not its definition.
_WORKFLOW_STATE = frozenset({
    "workflow_id", "status", "created_at", "trigger", "archived_at", "paused_at",
    "scheduled_at", "claim_id", "lock", "rate", "version", "updated_at",
})
# Fields of a trigger that are its dispatch state, not its definition.
TRIGGER_STATE = frozenset({
    "next_run", "status", "execution_id", "interrupted_attempts", "run_input",
    "fresh_execution",
})


def definition_fields() -> list[str]:
    """The workflow fields a PUT replaces (every field other helpers add is one)."""
    return [name for name in Workflow.model_fields if name not in _WORKFLOW_STATE]


def trigger_definition_fields() -> list[str]:
    """The trigger fields a PUT replaces."""
    return [name for name in Trigger.model_fields if name not in TRIGGER_STATE]


class WorkflowVersion(BaseModel):
    """One version of a workflow's definition, as it was defined."""

    workflow_id: str
    version: int
    defined_at: datetime
    trigger: Trigger
    definition: dict[str, Any]  # the `definition_fields()` of that version, as stored


def snapshot(workflow: Workflow) -> WorkflowVersion:
    """The current definition of `workflow` as a version to keep."""
    stored = workflow.model_dump(mode="python")
    trigger = workflow.trigger.model_copy(update={
        "next_run": None, "status": None, "execution_id": None, "interrupted_attempts": 0,
        "fresh_execution": False,
    })
    return WorkflowVersion(
        workflow_id=workflow.workflow_id, version=workflow.version,
        defined_at=workflow.updated_at or workflow.created_at, trigger=trigger,
        definition={name: stored[name] for name in definition_fields()},
    )


def as_version(workflow: Workflow, version: WorkflowVersion) -> Workflow:
    """`workflow` (its live state) with the definition of `version`."""
    stored = workflow.model_dump(mode="python")
    return Workflow.model_validate({**stored, **version.definition, "version": version.version})


def started_version(execution: Execution, workflow: Workflow) -> int | None:
    """The version a run of `execution` must use when it is not the current one; else None."""
    return None if execution.workflow_version == workflow.version else execution.workflow_version
