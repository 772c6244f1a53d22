"""The run context the worker hands each action: built from the execution and its workflow."""

from __future__ import annotations

from typing import Any

from shared.domain.models import ActionResultStatus, ActionState, Execution, Workflow
from shared.domain.run_context import RunContext


def run_context(workflow: Workflow, execution: Execution) -> RunContext:
    """What an action of `execution` may refer to (secrets are added by the dispatcher)."""
    return RunContext(
        execution_id=execution.id,
        attempt=max(execution.attempt, 1),
        workflow_id=workflow.workflow_id,
        # Both are Part II fields of other slices; absent until they land.
        workflow_version=int(getattr(workflow, "version", None) or 1),
        input=dict(getattr(execution, "input", None) or {}),
        actions={name: _outputs(state) for name, state in execution.actions.items()},
    )


def _outputs(state: ActionState) -> dict[str, Any]:
    """The `response` and `signal` of an action's last successful run."""
    ok = [run for run in state.runs if run.status == ActionResultStatus.OK]
    if not ok:
        return {}
    last = ok[-1]
    outputs: dict[str, Any] = {}
    if last.response is not None:
        outputs["response"] = last.response
    signal = getattr(last, "signal", None)
    if signal is not None:
        outputs["signal"] = signal
    return outputs
