"""What `wfa apply` has to do: the files' definitions diffed against the server's state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wfa.definitions import Definition
from wfa.marks import digest

# Compared without regard to case: the server stores the method upper-case.
_CASELESS_KEYS = frozenset({"method"})


class Step(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ARCHIVE = "archive"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class PlanItem:
    """One workflow's step; `definition` is None for a workflow only the server has."""

    workflow_id: str
    step: Step
    definition: Definition | None = None
    detail: str = ""


def same(given: Any, stored: Any, key: str = "") -> bool:
    """True when every field the file gives has the stored value.

    Fields only the server has (action_id, next_run, status, defaults it filled in) are
    not part of the file's definition, so they are not compared.
    """
    if isinstance(given, dict):
        if not isinstance(stored, dict):
            return False
        return all(same(value, stored.get(k), k) for k, value in given.items())
    if isinstance(given, list):
        return (
            isinstance(stored, list) and len(given) == len(stored)
            and all(same(g, s, key) for g, s in zip(given, stored, strict=True))
        )
    if key in _CASELESS_KEYS and isinstance(given, str) and isinstance(stored, str):
        return given.upper() == stored.upper()
    if isinstance(given, bool) or isinstance(stored, bool):
        return given is stored
    return bool(given == stored)


def shown(given: Any, stored: Any) -> bool:
    """True when the server's answer has every field the file gives (so `same` can tell)."""
    if isinstance(given, dict):
        return isinstance(stored, dict) and all(
            k in stored and shown(v, stored[k]) for k, v in given.items())
    if isinstance(given, list):
        return isinstance(stored, list) and all(
            shown(g, s) for g, s in zip(given, stored, strict=False))
    return True


def definition_of(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored workflow with its id under the request body's name (`workflowId`)."""
    return {"workflowId": stored.get("workflow_id"), **stored}


def step_for(
    definition: Definition, stored: dict[str, Any] | None,
    sent: tuple[int, str] | None = None,
) -> PlanItem:
    """Unchanged when apply sent this very body for the server's current version, or when
    the server's answer shows every field the file gives and they are all equal."""
    if stored is None:
        return PlanItem(definition.workflow_id, Step.CREATE, definition)
    if stored.get("archived_at"):
        return PlanItem(
            definition.workflow_id, Step.CONFLICT, definition,
            "archived on the server: an archived workflowId cannot be defined again",
        )
    if sent is not None and sent[0] == int(stored.get("version") or 1):
        unchanged = sent[1] == digest(definition.body)
    else:
        answer = definition_of(stored)
        unchanged = shown(definition.body, answer) and same(definition.body, answer)
    step = Step.UNCHANGED if unchanged else Step.UPDATE
    return PlanItem(definition.workflow_id, step, definition)


def make_plan(
    definitions: list[Definition], stored: dict[str, dict[str, Any]], *,
    managed: Iterable[str] = (), prune: bool = False,
    sent: dict[str, tuple[int, str]] | None = None,
) -> list[PlanItem]:
    """One item per file definition, then (with `prune`) an archive step for each workflow
    that apply created, that is live on the server and that no file defines any more."""
    sent = sent or {}
    items = [step_for(d, stored.get(d.workflow_id), sent.get(d.workflow_id))
             for d in definitions]
    if prune:
        defined = {d.workflow_id for d in definitions}
        for workflow_id in sorted(set(managed) - defined):
            live = stored.get(workflow_id)
            if live is not None and not live.get("archived_at"):
                items.append(PlanItem(workflow_id, Step.ARCHIVE, None, "no file defines it"))
    return items
