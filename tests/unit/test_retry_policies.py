"""Retry policies (SPEC section 9): delays as pure functions, and the worker applying the
workflow's policy, an action's override and non_retryable_statuses."""

from __future__ import annotations

from typing import Any

import pytest

from shared.actions import HttpRequestAction
from shared.domain.models import (
    ActionResult,
    ActionResultStatus,
    ExecutionStatus,
    Workflow,
)
from shared.domain.retry_policy import V1_POLICY, RetryPolicy, RetrySpec, retry_delay_s
from shared.domain.run_context import RunContext
from tests.fakes import Harness, manual_workflow


def test_delays_of_a_given_policy_grow_and_are_capped_and_scaled() -> None:
    policy = RetrySpec(max_attempts=5, initial_interval_s=2, backoff_coefficient=3,
                       max_interval_s=30).policy()
    assert [retry_delay_s(policy, a) for a in (1, 2, 3, 4, 5)] == [2, 6, 18, 30, None]
    assert retry_delay_s(policy, 2, scale=0.5) == 3


def test_v1_delays_and_a_non_retryable_status() -> None:
    assert [retry_delay_s(V1_POLICY, a) for a in (1, 2, 3, 4)] == [4, 9, 16, None]
    policy = RetryPolicy(max_attempts=4, initial_interval_s=1,
                         non_retryable_statuses=frozenset({404}))
    assert retry_delay_s(policy, 1, http_status=404) is None
    assert retry_delay_s(policy, 1, http_status=500) == 1


def test_a_given_retry_has_documented_defaults() -> None:
    assert RetrySpec().policy() == RetryPolicy(
        max_attempts=4, initial_interval_s=4, backoff_coefficient=2, max_interval_s=300)


class StatusRunner:
    """Every http-request answers `status` (recorded as its response)."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.ran: list[int] = []

    async def run(self, action: Any, context: RunContext | None = None) -> ActionResult:
        self.ran.append(action.action_id)
        ok = action.type != "http-request" or action.expects(self.status)
        return ActionResult(
            action_id=action.action_id, logs="...", response={"status": self.status},
            status=ActionResultStatus.OK if ok else ActionResultStatus.FAILED,
        )


def with_retry(workflow: Workflow, retry: RetrySpec | None = None,
               http_retry: RetrySpec | None = None) -> Workflow:
    actions = [a.model_copy(update={"retry": http_retry}) if isinstance(a, HttpRequestAction)
               else a for a in workflow.actions]
    return workflow.model_copy(update={"retry": retry, "actions": actions})


async def run_until_settled(
    h: Harness, runner: StatusRunner
) -> tuple[ExecutionStatus, list[float]]:
    worker = h.worker(runner)  # type: ignore[arg-type]
    execution = await worker.run(await h.trigger("wf"))
    delays: list[float] = []
    while execution is not None and execution.status == ExecutionStatus.PENDING:
        wf = await h.workflows.get("wf")
        assert wf is not None and wf.trigger.next_run is not None
        delay = (wf.trigger.next_run - h.clock.now()).total_seconds()
        delays.append(delay)
        h.clock.advance(delay)
        (retry,) = await h.dispatch_due()
        execution = await worker.run(retry)
    assert execution is not None
    return execution.status, delays


async def test_the_workflow_policy_sets_attempts_and_delays() -> None:
    h = Harness()
    retry = RetrySpec(max_attempts=5, initial_interval_s=1, backoff_coefficient=2)
    await h.add(with_retry(manual_workflow("wf", h.clock), retry))
    runner = StatusRunner(503)

    status, delays = await run_until_settled(h, runner)

    assert (status, delays) == (ExecutionStatus.FAILED, [1, 2, 4, 8])
    assert runner.ran == [1, 2, 2, 2, 2, 2]


async def test_a_non_retryable_status_fails_the_execution_at_once() -> None:
    h = Harness()
    retry = RetrySpec(max_attempts=5, non_retryable_statuses=[404])
    await h.add(with_retry(manual_workflow("wf", h.clock), retry))
    runner = StatusRunner(404)

    status, delays = await run_until_settled(h, runner)

    assert (status, delays, runner.ran) == (ExecutionStatus.FAILED, [], [1, 2])


async def test_an_action_retry_overrides_the_workflow_policy() -> None:
    h = Harness()
    await h.add(with_retry(manual_workflow("wf", h.clock), RetrySpec(max_attempts=2),
                           http_retry=RetrySpec(max_attempts=3, initial_interval_s=0.5)))
    status, delays = await run_until_settled(h, StatusRunner(500))
    assert (status, delays) == (ExecutionStatus.FAILED, [0.5, 1.0])


@pytest.mark.parametrize("scale", [1.0, 0.5])
async def test_without_retry_anywhere_the_v1_rules_apply(scale: float) -> None:
    h = Harness(backoff_scale=scale)
    await h.add(manual_workflow("wf", h.clock))
    status, delays = await run_until_settled(h, StatusRunner(500))
    assert (status, delays) == (ExecutionStatus.FAILED, [4 * scale, 9 * scale, 16 * scale])
