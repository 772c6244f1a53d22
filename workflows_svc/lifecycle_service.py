"""Use cases of SPEC 12: replace a definition (versions), pause and resume a workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.definition import WorkflowDefinition
from shared.domain.errors import Conflict, NotFound
from shared.domain.lifecycle import transitions as lc
from shared.domain.models import Workflow
from shared.domain.schedules import schedule_for
from shared.domain.versions import (
    WorkflowVersion,
    definition_fields,
    snapshot,
    trigger_definition_fields,
)
from shared.infra.logs import get_logger
from shared.ports import ApiWorkflows, Clock, WorkflowVersions
from workflows_svc.service import WorkflowService

log = get_logger(__name__)


class LifecycleService:
    """PUT with versions, pause and resume, on top of the workflow service's checks."""

    def __init__(
        self, *, workflows: ApiWorkflows, versions: WorkflowVersions, clock: Clock,
        definitions: WorkflowService,
    ) -> None:
        self._workflows = workflows
        self._versions = versions
        self._clock = clock
        self._definitions = definitions

    async def replace(self, definition: WorkflowDefinition) -> Workflow:
        """Store `definition` as the next version; the previous one is kept first."""
        now = self._clock.now()
        current = await self._definitions.get(definition.workflow_id)
        _refuse_archived(current)
        # The checks of a new workflow (raises InvalidInput); its live state is not used.
        new = self._definitions.build(definition, now)
        await self._versions.keep_version(snapshot(current))
        params = _redefinition(current, new, now)
        if await self._workflows.apply(lc.REDEFINE_IDLE, current.workflow_id, params):
            return await self._definitions.get(current.workflow_id)
        busy = {k: v for k, v in params.items() if k != "next_run"}
        if await self._workflows.apply(lc.REDEFINE_IN_PROGRESS, current.workflow_id, busy):
            return await self._definitions.get(current.workflow_id)
        latest = await self._definitions.get(current.workflow_id)
        _refuse_archived(latest)
        raise Conflict("workflow changed during the update, try again", status="conflict")

    async def version(self, workflow_id: str, version: int) -> WorkflowVersion:
        """Version `version` of the workflow (the current one included)."""
        current = await self._definitions.get(workflow_id)
        if version == current.version:
            return snapshot(current)
        kept = await self._versions.get_version(workflow_id, version) if version > 0 else None
        if kept is None or version > current.version:
            raise NotFound(f"workflow {workflow_id!r} has no version {version}")
        return kept

    async def pause(self, workflow_id: str) -> Workflow:
        """Stop dispatching it (what runs finishes); pausing a paused workflow is a no-op."""
        if not await self._workflows.apply(lc.PAUSE, workflow_id, {"now": self._clock.now()}):
            _refuse_archived(await self._definitions.get(workflow_id))
        log.info("workflow paused", workflow_id=workflow_id)
        return await self._definitions.get(workflow_id)

    async def resume(self, workflow_id: str) -> Workflow:
        """Dispatch it again from its next slot after now (missed slots are not caught up)."""
        workflow = await self._definitions.get(workflow_id)
        _refuse_archived(workflow)
        now = self._clock.now()
        next_run = schedule_for(workflow.trigger).first_run(
            created_at=workflow.created_at, now=now
        )
        if not await self._workflows.apply(lc.RESUME, workflow_id, {"next_run": next_run}):
            await self._workflows.apply(lc.RESUME_IN_PROGRESS, workflow_id, {})
        log.info("workflow resumed", workflow_id=workflow_id)
        return await self._definitions.get(workflow_id)


def _refuse_archived(workflow: Workflow) -> None:
    if workflow.archived_at is not None:
        raise Conflict("workflow is archived", status="archived")


def _redefinition(current: Workflow, new: Workflow, now: datetime) -> dict[str, Any]:
    """The parameters of REDEFINE_*: `new`'s definition on `current`'s version."""
    stored = new.model_dump(mode="python")
    trigger = stored["trigger"]
    params: dict[str, Any] = {name: stored[name] for name in definition_fields()}
    params.update({f"trigger.{f}": trigger[f] for f in trigger_definition_fields()})
    same_trigger = all(
        getattr(current.trigger, f) == getattr(new.trigger, f)
        for f in trigger_definition_fields()
    )
    next_run = current.trigger.next_run if same_trigger else schedule_for(
        new.trigger).first_run(created_at=current.created_at, now=now)
    return {
        **params, "version": current.version,
        "unversioned": None if current.version == 1 else current.version,
        "new_version": current.version + 1, "now": now, "next_run": next_run,
    }
