"""WorkflowRepository contract: `count_queued` counts the runs dispatched before a time and
not yet claimed by a runner (`scheduled`, not archived), no further than its limit (the
API's admission bound samples it)."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.models import WorkflowStatus
from tests.contract.conftest import Repos
from tests.contract.helpers import T0, manual

SCHEDULED = WorkflowStatus.SCHEDULED


async def test_count_queued_counts_runs_scheduled_before_a_time_up_to_its_limit(
    repos: Repos,
) -> None:
    at = T0 + timedelta(seconds=10)
    assert await repos.workflows.count_queued(older_than=at, limit=10) == 0
    waited_long = [manual(f"old{n}", status=SCHEDULED, scheduled_at=at - timedelta(seconds=n))
                   for n in range(5)]
    others = [
        manual("fresh", status=SCHEDULED, scheduled_at=at + timedelta(milliseconds=1)),
        manual("archived", status=SCHEDULED, scheduled_at=T0, archived_at=T0),
        manual("locked", status=WorkflowStatus.LOCKED),
        manual("idle"),
    ]
    for workflow in [*waited_long, *others]:
        await repos.workflows.create(workflow)

    assert await repos.workflows.count_queued(older_than=at, limit=10) == 5
    assert await repos.workflows.count_queued(older_than=at, limit=3) == 3
    assert await repos.workflows.count_queued(older_than=at - timedelta(seconds=2),
                                              limit=10) == 3
