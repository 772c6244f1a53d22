"""In-memory WorkflowVersions, for unit tests (see `shared.adapters.memory`)."""

from __future__ import annotations

from shared.domain.versions import WorkflowVersion


class InMemoryVersions:
    """WorkflowVersions over a dict keyed by (workflow id, version)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, int], WorkflowVersion] = {}

    async def keep_version(self, version: WorkflowVersion) -> None:
        self._items.setdefault((version.workflow_id, version.version),
                               version.model_copy(deep=True))

    async def get_version(self, workflow_id: str, version: int) -> WorkflowVersion | None:
        found = self._items.get((workflow_id, version))
        return found.model_copy(deep=True) if found else None
