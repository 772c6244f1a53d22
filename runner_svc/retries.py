"""The retry policy of a failed attempt (SPEC section 9), for the worker and the outcome.

A workflow without `retry` anywhere keeps the v1 rules untouched: each function answers None
and the caller applies them. Otherwise the failed action's `retry` governs, else the
workflow's, else the v1 policy (`v1_attempts` = EXECUTION_RETRIES, the original backoff).
"""

from __future__ import annotations

from shared.domain.execution_record import action_key, failed_in_attempt
from shared.domain.models import Execution, Workflow
from shared.domain.retry_policy import RetryPolicy, retry_delay_s


def uses_policies(workflow: Workflow) -> bool:
    """Whether the workflow or any of its actions defines a `retry`."""
    return workflow.retry is not None or any(a.retry is not None for a in workflow.actions)


def initial_retries(workflow: Workflow, v1_attempts: int) -> int:
    """`retries` of a fresh execution: the most attempts any policy in play allows."""
    attempts = [a.retry.max_attempts for a in workflow.actions if a.retry is not None]
    attempts.append(workflow.retry.max_attempts if workflow.retry else v1_attempts)
    return max(attempts)


def _failure(
    workflow: Workflow, execution: Execution, v1_attempts: int
) -> tuple[RetryPolicy, int | None] | None:
    """The policy that governs this attempt's failure, and the failed answer's HTTP status."""
    failed_id = failed_in_attempt(execution)
    if failed_id is None or not uses_policies(workflow):
        return None
    action = next((a for a in workflow.actions if a.action_id == failed_id), None)
    spec = (action.retry if action else None) or workflow.retry
    policy = spec.policy() if spec else RetryPolicy(max_attempts=v1_attempts)
    state = execution.actions.get(action_key(action)) if action else None
    response = state.runs[-1].response if state and state.runs else None
    status = response.get("status") if response else None
    return policy, status if isinstance(status, int) else None


def retries_again(workflow: Workflow, execution: Execution, v1_attempts: int) -> bool | None:
    """Whether the failed attempt gets another one under its policy; None: the v1 rule."""
    failure = _failure(workflow, execution, v1_attempts)
    if failure is None:
        return None
    policy, status = failure
    return policy.retries_after(execution.attempt, status)


def next_delay_s(
    workflow: Workflow, execution: Execution | None, v1_attempts: int, scale: float
) -> float | None:
    """Seconds before the next attempt under the failure's policy; None: the v1 backoff."""
    failure = None if execution is None else _failure(workflow, execution, v1_attempts)
    if failure is None or execution is None:
        return None
    policy, status = failure
    return retry_delay_s(policy, execution.attempt, http_status=status, scale=scale)
