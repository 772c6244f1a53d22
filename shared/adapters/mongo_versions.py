"""MongoDB WorkflowVersions on the `workflow_versions` collection (see `shared.adapters.mongo`)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.adapters.mongo_errors import raises_unavailable
from shared.domain.versions import WorkflowVersion

Doc = dict[str, Any]


@raises_unavailable
class MongoVersions:
    """One document per kept version, unique on (workflow_id, version)."""

    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._col = collection

    async def keep_version(self, version: WorkflowVersion) -> None:
        key = {"workflow_id": version.workflow_id, "version": version.version}
        # An upsert that never overwrites: a PUT retried after a crash keeps the first copy.
        try:
            await self._col.update_one(
                key, {"$setOnInsert": version.model_dump(mode="python")}, upsert=True
            )
        except DuplicateKeyError:  # a concurrent upsert of the same version inserted it
            pass

    async def get_version(self, workflow_id: str, version: int) -> WorkflowVersion | None:
        doc = await self._col.find_one({"workflow_id": workflow_id, "version": version})
        if doc is None:
            return None
        return WorkflowVersion.model_validate({k: v for k, v in doc.items() if k != "_id"})
