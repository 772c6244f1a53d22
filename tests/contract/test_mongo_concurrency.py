"""Compare-and-set under contention on the MongoDB adapter: exactly one winner.

The system's correctness rests on single-document atomicity of filtered updates; a
database that reads and then rewrites outside one atomic step would let several win.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.adapters.mappers import WORKFLOW_HANDLER
from shared.adapters.mongo import MongoWorkflowRepository
from shared.domain.models import WorkflowStatus
from tests.contract.helpers import at, claim, manual

pytestmark = pytest.mark.integration
CONTENDERS = 50
ROUNDS = 10


async def test_concurrent_locks_have_exactly_one_winner(fresh_db: Any) -> None:
    repo = MongoWorkflowRepository(fresh_db["workflows"], WORKFLOW_HANDLER)
    for round_no in range(ROUNDS):
        workflow_id = f"lock-{round_no}"
        await repo.create(manual(workflow_id, status=WorkflowStatus.SCHEDULED))

        results = await asyncio.gather(
            *(repo.lock(workflow_id, token=f"t{n}", lease_until=at(60)) for n in range(CONTENDERS))
        )

        winners = [r for r in results if r is not None]
        assert len(winners) == 1, f"round {round_no}: {len(winners)} winners"
        stored = await repo.get(workflow_id)
        assert stored is not None and stored.lock is not None
        assert winners[0].lock is not None
        assert stored.lock.token == winners[0].lock.token


async def test_concurrent_trigger_claims_have_exactly_one_winner(fresh_db: Any) -> None:
    repo = MongoWorkflowRepository(fresh_db["workflows"], WORKFLOW_HANDLER)
    for round_no in range(ROUNDS):
        workflow_id = f"claim-{round_no}"
        await repo.create(manual(workflow_id))
        rate_limit = 0 if round_no % 2 == 0 else 60  # both update paths

        results = await asyncio.gather(
            *(
                repo.claim_for_trigger(claim(workflow_id, f"e{n}", rate_limit=rate_limit))
                for n in range(CONTENDERS)
            )
        )

        winners = [f"e{n}" for n, won in enumerate(results) if won]
        assert len(winners) == 1, f"round {round_no}: {len(winners)} winners"
        stored = await repo.get(workflow_id)
        assert stored is not None and stored.trigger.execution_id == winners[0]
        if rate_limit:
            assert stored.rate is not None and stored.rate.count == 1
