"""Entity handlers: map domain models to storage documents and back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.domain.execution_record import from_results
from shared.domain.models import Execution, Workflow

M = TypeVar("M", bound=BaseModel)


class EntityHandler(Generic[M]):
    """Document <-> model mapper handed to a repository's constructor."""

    def __init__(self, model: type[M]) -> None:
        self._model = model

    def to_document(self, entity: M) -> dict[str, Any]:
        return entity.model_dump(mode="python")

    def from_document(self, document: Mapping[str, Any]) -> M:
        fields = {k: v for k, v in document.items() if k != "_id"}
        return self._model.model_validate(fields)


LEGACY_RESULTS = "executed_actions"
_LEGACY_FIELDS = {LEGACY_RESULTS, "last_failed_action"}  # both derived from the record now


class ExecutionHandler(EntityHandler[Execution]):
    """Also reads documents written before the keyed record (a flat `executed_actions`)."""

    def __init__(self) -> None:
        super().__init__(Execution)

    def from_document(self, document: Mapping[str, Any]) -> Execution:
        if LEGACY_RESULTS not in document:
            return super().from_document(document)
        fields = {k: v for k, v in document.items() if k not in _LEGACY_FIELDS}
        fields.update(from_results(document[LEGACY_RESULTS]))
        return super().from_document(fields)


WORKFLOW_HANDLER: EntityHandler[Workflow] = EntityHandler(Workflow)
EXECUTION_HANDLER: EntityHandler[Execution] = ExecutionHandler()
