"""WorkflowRepository contract: the scheduler's batched claims (`claim_due_many`, `wake_many`)
win exactly where the single compare-and-set would, and report which ones did, in order."""

from __future__ import annotations

import asyncio

from shared.domain.lifecycle import transitions as lc
from shared.domain.models import TriggerStatus, Workflow, WorkflowStatus
from shared.ports import DueClaim, DueWorkflow, WakeClaim
from tests.contract.conftest import Repos
from tests.contract.helpers import at, claim, manual, periodic

NOW = at(100)
RACE_SIZE = 120  # enough for two unordered bulk writes to interleave


def _retry(workflow_id: str, execution_id: str) -> Workflow:
    """A periodic workflow whose failed execution waits for its retry (due at 10)."""
    workflow = periodic(workflow_id, at(10), trigger_status=TriggerStatus.PENDING)
    workflow.trigger.execution_id = execution_id
    return workflow


async def _observe(repos: Repos) -> list[DueWorkflow]:
    return await repos.workflows.find_due(NOW, after=None, limit=1000)


def _claims(observed: list[DueWorkflow], tag: str) -> list[DueClaim]:
    """A claim per observed workflow: a retry keeps its execution id, a run gets a new one."""
    return [
        DueClaim(due, NOW, due.execution_id or f"{tag}-{due.workflow_id}", at(110))
        for due in observed
    ]


async def test_a_batch_claims_every_due_workflow_once(repos: Repos) -> None:
    for workflow in (periodic("a", at(10)), periodic("b", at(20)), _retry("r", "e1")):
        await repos.workflows.create(workflow)
    observed = await _observe(repos)

    assert await repos.workflows.claim_due_many(_claims(observed, "x")) == [True] * 3
    assert await repos.workflows.claim_due_many(_claims(observed, "y")) == [False] * 3

    for workflow_id, execution_id in (("a", "x-a"), ("b", "x-b"), ("r", "e1")):
        stored = await repos.workflows.get(workflow_id)
        assert stored is not None
        assert (stored.status, stored.trigger.status, stored.trigger.execution_id) == (
            WorkflowStatus.SCHEDULED, TriggerStatus.BUSY, execution_id
        )
        assert (stored.scheduled_at, stored.trigger.next_run) == (NOW, at(110))
    assert await _observe(repos) == []
    assert await repos.workflows.claim_due_many([]) == []


async def test_each_claim_of_a_batch_writes_its_own_values_taken_literally(
    repos: Repos,
) -> None:
    # Ids that read as expressions to an aggregation pipeline, slots that differ per
    # workflow, a retry among new runs: each workflow gets exactly its own claim's values.
    ids = ["$a", "$$b.c", "{d}", "retry"]
    for n, workflow_id in enumerate(ids[:3]):
        await repos.workflows.create(periodic(workflow_id, at(10 + n)))
    await repos.workflows.create(_retry("retry", "$e1"))
    observed = await _observe(repos)
    claims = [
        DueClaim(due, NOW, due.execution_id or f"${due.workflow_id}-run", at(200 + n))
        for n, due in enumerate(observed)
    ]

    assert await repos.workflows.claim_due_many(claims) == [True] * 4

    for claim_ in claims:
        stored = await repos.workflows.get(claim_.due.workflow_id)
        assert stored is not None
        assert (stored.trigger.execution_id, stored.trigger.next_run) == (
            claim_.execution_id, claim_.next_run
        )
        assert stored.trigger.fresh_execution is (claim_.due.workflow_id != "retry")


async def test_only_the_claims_still_as_observed_win(repos: Repos) -> None:
    ids = ["claimed", "won-1", "passed", "retry-claimed", "archived", "paused", "won-2"]
    for workflow_id in ids:
        retry = workflow_id == "retry-claimed"
        await repos.workflows.create(
            _retry(workflow_id, "e1") if retry else periodic(workflow_id, at(10))
        )
    observed = {due.workflow_id: due for due in await _observe(repos)}
    # Meanwhile another scheduler claimed two (a retry keeps its execution id), one slot
    # passed, one workflow was archived and one paused.
    assert await repos.workflows.claim_due(
        observed["claimed"], now=NOW, execution_id="other", next_run=at(110))
    assert await repos.workflows.claim_due(
        observed["retry-claimed"], now=NOW, execution_id="e1", next_run=at(110))
    assert await repos.workflows.pass_due(observed["passed"], next_run=at(20))
    assert await repos.workflows.archive("archived", at(50)) is not None
    assert await repos.workflows.apply(lc.PAUSE, "paused", {"now": at(50)})

    won = await repos.workflows.claim_due_many(_claims([observed[i] for i in ids], "x"))

    assert dict(zip(ids, won, strict=True)) == {i: i.startswith("won") for i in ids}
    claimed = await repos.workflows.get("claimed")
    assert claimed is not None and claimed.trigger.execution_id == "other"
    passed = await repos.workflows.get("passed")
    assert passed is not None and passed.status == WorkflowStatus.ACTIVE
    assert passed.trigger.next_run == at(20)


async def test_two_schedulers_racing_on_a_batch_claim_each_workflow_once(
    repos: Repos,
) -> None:
    ids = [f"w{n:03d}" for n in range(RACE_SIZE)]
    for n, workflow_id in enumerate(ids):
        await repos.workflows.create(
            _retry(workflow_id, f"e{n}") if n % 3 == 0 else periodic(workflow_id, at(10))
        )
    observed = await _observe(repos)
    # The same `now`, and a retry's claims carry the same execution id in both batches.
    first, second = _claims(observed, "x"), _claims(observed[::-1], "y")

    won_first, won_second = await asyncio.gather(
        repos.workflows.claim_due_many(first), repos.workflows.claim_due_many(second)
    )

    winners = [c for c, ok in zip(first, won_first, strict=True) if ok]
    winners += [c for c, ok in zip(second, won_second, strict=True) if ok]
    assert sorted(c.due.workflow_id for c in winners) == ids
    for winner in winners:
        stored = await repos.workflows.get(winner.due.workflow_id)
        assert stored is not None and stored.trigger.execution_id == winner.execution_id
        assert stored.status == WorkflowStatus.SCHEDULED


async def _park(repos: Repos, workflow_id: str, execution_id: str) -> None:
    await repos.workflows.create(manual(workflow_id))
    assert await repos.workflows.claim_for_trigger(claim(workflow_id, execution_id))
    assert await repos.workflows.lock(workflow_id, token="t", lease_until=at(60)) is not None
    assert await repos.workflows.apply(lc.WAIT, workflow_id, {"token": "t", "wake_at": at(30)})


def _wakes(observed: list[DueWorkflow]) -> list[WakeClaim]:
    return [WakeClaim(d.workflow_id, d.execution_id or "", at(31), None) for d in observed]


async def test_a_wake_batch_wins_where_no_signal_woke_it_first(repos: Repos) -> None:
    ids = ["w1", "signalled", "w2"]
    for n, workflow_id in enumerate(ids):
        await _park(repos, workflow_id, f"e{n}")
    observed = await repos.workflows.find_waking(at(30), after=None, limit=10)
    assert [d.workflow_id for d in observed] == ["signalled", "w1", "w2"]
    # A signal woke one (with the same execution id) before the batch.
    assert await repos.workflows.wake("signalled", execution_id="e1", now=at(30), next_run=None)

    assert await repos.workflows.wake_many(_wakes(observed)) == [False, True, True]
    assert await repos.workflows.wake_many(_wakes(observed)) == [False, False, False]
    for workflow_id, execution_id in (("w1", "e0"), ("w2", "e2")):
        stored = await repos.workflows.get(workflow_id)
        assert stored is not None
        assert (stored.status, stored.trigger.status, stored.trigger.execution_id) == (
            WorkflowStatus.SCHEDULED, TriggerStatus.BUSY, execution_id
        )
    assert await repos.workflows.wake_many([]) == []


async def test_two_schedulers_racing_on_a_wake_batch_wake_each_execution_once(
    repos: Repos,
) -> None:
    ids = [f"p{n:03d}" for n in range(RACE_SIZE // 2)]
    for workflow_id in ids:
        await _park(repos, workflow_id, f"e-{workflow_id}")
    observed = await repos.workflows.find_waking(at(30), after=None, limit=1000)

    results = await asyncio.gather(
        repos.workflows.wake_many(_wakes(observed)),
        repos.workflows.wake_many(_wakes(observed[::-1])),
    )

    won_first, won_second = results[0], results[1][::-1]
    assert [a + b for a, b in zip(won_first, won_second, strict=True)] == [1] * len(ids)
