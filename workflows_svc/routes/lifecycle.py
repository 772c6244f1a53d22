"""Routes of SPEC 12 on a workflow: replace it (versions), pause and resume it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from workflows_svc.lifecycle_schemas import ReplacedOut, VersionOut, WorkflowReplace
from workflows_svc.routes.deps import LifecycleDep, ServiceDep, error_responses, require_json
from workflows_svc.schemas import WorkflowOut
from workflows_svc.views import version_out, workflow_out

router = APIRouter(prefix="/workflows", tags=["workflows"])


@router.put(
    "/{workflow_id}", response_model=ReplacedOut, dependencies=[Depends(require_json)],
    responses=error_responses(400, 404, 409, 413, 415, 503),
)
async def replace_workflow(
    workflow_id: str, body: WorkflowReplace, lifecycle: LifecycleDep
) -> ReplacedOut:
    """Replace the definition (same body as POST): the next run uses it, a run in progress
    finishes on the version it started with. 409 when archived."""
    workflow = await lifecycle.replace(body.to_definition_for(workflow_id))
    return ReplacedOut(workflowId=workflow.workflow_id, version=workflow.version)


@router.get(
    "/{workflow_id}/versions/{version}", response_model=VersionOut,
    responses=error_responses(400, 404, 503),
)
async def get_version(
    workflow_id: str, version: Annotated[int, Path(ge=1, le=2**31)], lifecycle: LifecycleDep
) -> VersionOut:
    """One version of the definition, the current one included."""
    return version_out(await lifecycle.version(workflow_id, version))


@router.post(
    "/{workflow_id}/pause", response_model=WorkflowOut, responses=error_responses(404, 409, 503)
)
async def pause_workflow(
    workflow_id: str, lifecycle: LifecycleDep, service: ServiceDep
) -> WorkflowOut:
    """Stop dispatching it (runs and retries wait; a manual trigger is 409 paused); what runs
    now finishes. Pausing a paused workflow changes nothing. 409 when archived."""
    return workflow_out(await lifecycle.pause(workflow_id), service.now())


@router.post(
    "/{workflow_id}/resume", response_model=WorkflowOut,
    responses=error_responses(404, 409, 503),
)
async def resume_workflow(
    workflow_id: str, lifecycle: LifecycleDep, service: ServiceDep
) -> WorkflowOut:
    """Dispatch it again from its next slot after now: slots missed while paused are not
    caught up. Resuming a workflow that is not paused changes nothing. 409 when archived."""
    return workflow_out(await lifecycle.resume(workflow_id), service.now())
