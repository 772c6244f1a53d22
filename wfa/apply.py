"""Carrying out an apply plan against the server, one outcome line per workflow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wfa.client import Api
from wfa.definitions import load
from wfa.errors import ApiError, CliError
from wfa.marks import Ledger, digest, has_label, labelled
from wfa.plan import PlanItem, Step, make_plan

_DONE = {Step.CREATE: "created", Step.UPDATE: "updated", Step.UNCHANGED: "unchanged",
         Step.ARCHIVE: "archived", Step.CONFLICT: "conflict"}
_NO_UPDATE = (
    "the definition changed, but this server cannot update workflows "
    "(no PUT /workflows/{id}: updating needs a server with workflow versions)"
)


@dataclass(frozen=True)
class Outcome:
    """What happened to one workflow (or, with dry_run, what would)."""

    workflow_id: str
    outcome: str
    detail: str = ""
    ok: bool = True
    version: int | None = None  # the version a create or update made

    def as_json(self) -> dict[str, Any]:
        return {"workflow_id": self.workflow_id, "outcome": self.outcome,
                "detail": self.detail, "ok": self.ok}


def plan_for(
    api: Api, ledger: Ledger, paths: list[Path], *, prune: bool
) -> tuple[list[PlanItem], bool]:
    """The plan, and whether this server takes labels."""
    definitions = load(paths)
    labels = _takes_labels(api)
    stored = {w["workflow_id"]: w for w in api.workflows()}
    managed = ledger.ids() | {w_id for w_id, w in stored.items() if has_label(w)}
    plan = make_plan(definitions, stored, managed=managed, prune=prune, sent=ledger.sent())
    return plan, labels


def run(
    api: Api, ledger: Ledger, items: list[PlanItem], *, labels: bool, dry_run: bool
) -> list[Outcome]:
    """Carry out each step; a rejected step is an outcome, not an abort."""
    if dry_run:
        return [_would(item) for item in items]
    done = [(item, _carry_out(api, item, labels)) for item in items]
    outcomes = [outcome for _, outcome in done]
    created = [o.workflow_id for o in outcomes if o.outcome == "created"]
    gone = [o.workflow_id for o in outcomes if o.outcome == "archived"]
    if created or gone:
        ledger.update(add=created, remove=gone)
    sent = {o.workflow_id: (o.version, digest(item.definition.body))
            for item, o in done if o.version is not None and item.definition is not None}
    if sent:
        ledger.record(sent)
    return outcomes


def _takes_labels(api: Api) -> bool:
    try:
        return "labels" in api.create_fields()
    except ApiError:
        return False


def _would(item: PlanItem) -> Outcome:
    if item.step is Step.CONFLICT:
        return Outcome(item.workflow_id, "conflict", item.detail, ok=False)
    if item.step is Step.UNCHANGED:
        return Outcome(item.workflow_id, "unchanged", _source(item))
    return Outcome(item.workflow_id, f"would {item.step.value}", item.detail or _source(item))


def _carry_out(api: Api, item: PlanItem, labels: bool) -> Outcome:
    if item.step is Step.CONFLICT:
        return Outcome(item.workflow_id, "conflict", item.detail, ok=False)
    if item.step is Step.UNCHANGED:
        return Outcome(item.workflow_id, "unchanged", _source(item))
    try:
        detail, version = _send(api, item, labels)
    except ApiError as exc:
        if item.step is Step.UPDATE and exc.route_missing:
            return Outcome(item.workflow_id, "not updated", _NO_UPDATE, ok=False)
        return Outcome(item.workflow_id, f"not {_DONE[item.step]}", exc.message, ok=False)
    return Outcome(item.workflow_id, _DONE[item.step], detail, version=version)


def _send(api: Api, item: PlanItem, labels: bool) -> tuple[str, int | None]:
    """What to say about the step, and the version it made (None: archived, or unknown)."""
    if item.step is Step.ARCHIVE:
        api.archive(item.workflow_id)
        return item.detail, None
    if item.definition is None:
        raise CliError(f"{item.workflow_id}: no definition to send")
    body = labelled(item.definition.body) if labels else item.definition.body
    if item.step is Step.CREATE:
        api.create(body)
        return _source(item), 1  # a created workflow is version 1 (SPEC 12)
    version = api.replace(item.workflow_id, body).get("version")
    if not isinstance(version, int):
        return _source(item), None
    return f"version {version}", version


def _source(item: PlanItem) -> str:
    return str(item.definition.source) if item.definition else ""
