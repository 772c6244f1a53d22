"""WorkflowRepository contract: `count_queued` counts the runs dispatched and not yet claimed
by a runner (`scheduled`), no further than its limit (the API's admission bound samples it)."""

from __future__ import annotations

from shared.domain.models import WorkflowStatus
from tests.contract.conftest import Repos
from tests.contract.helpers import manual


async def test_count_queued_counts_scheduled_runs_up_to_its_limit(repos: Repos) -> None:
    assert await repos.workflows.count_queued(limit=10) == 0
    statuses = [WorkflowStatus.SCHEDULED] * 5 + [WorkflowStatus.LOCKED, WorkflowStatus.ACTIVE]
    for number, status in enumerate(statuses):
        await repos.workflows.create(manual(f"w{number}", status=status))

    assert await repos.workflows.count_queued(limit=10) == 5
    assert await repos.workflows.count_queued(limit=3) == 3
