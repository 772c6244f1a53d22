"""Retry policies of SPEC section 9: how many attempts, how long between them, what is final.

Absent, a workflow keeps the v1 policy: 4 attempts, backoff 4 s, 9 s, 16 s (the original's
formula, scaled by `RETRY_BACKOFF_SCALE`). Given, the delay before attempt n+1 is
min(initial_interval_s * backoff_coefficient^(n-1), max_interval_s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.timing import backoff_s

V1_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A policy; `initial_interval_s` None means the v1 backoff formula."""

    max_attempts: int = V1_ATTEMPTS
    initial_interval_s: float | None = None
    backoff_coefficient: float = 2.0
    max_interval_s: float = 3600.0
    non_retryable_statuses: frozenset[int] = frozenset()

    def delay_s(self, attempt: int, *, scale: float = 1.0) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if self.initial_interval_s is None:
            return backoff_s(self.max_attempts - attempt + 1, scale=scale)
        raw = self.initial_interval_s * self.backoff_coefficient ** (attempt - 1)
        return min(raw, self.max_interval_s)

    def retries_after(self, attempt: int, http_status: int | None = None) -> bool:
        """Whether a failure of attempt number `attempt` gets another attempt."""
        if http_status is not None and http_status in self.non_retryable_statuses:
            return False
        return attempt < self.max_attempts


V1_POLICY = RetryPolicy()


class RetrySpec(BaseModel):
    """`retry` of a workflow or of one action, as defined and stored (SPEC section 9)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=V1_ATTEMPTS, ge=1, le=100)
    initial_interval_s: float = Field(default=4.0, ge=0, le=86_400)
    backoff_coefficient: float = Field(default=2.0, ge=1, le=100)
    max_interval_s: float = Field(default=300.0, ge=0, le=86_400)
    non_retryable_statuses: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=list, max_length=100
    )

    def policy(self) -> RetryPolicy:
        """The policy it defines."""
        return RetryPolicy(
            max_attempts=self.max_attempts, initial_interval_s=self.initial_interval_s,
            backoff_coefficient=self.backoff_coefficient, max_interval_s=self.max_interval_s,
            non_retryable_statuses=frozenset(self.non_retryable_statuses),
        )


def retry_delay_s(
    policy: RetryPolicy, attempt: int, *, http_status: int | None = None, scale: float = 1.0
) -> float | None:
    """Seconds before the next attempt after failed attempt `attempt`; None: fail now."""
    if not policy.retries_after(attempt, http_status):
        return None
    if policy.initial_interval_s is None:
        return policy.delay_s(attempt, scale=scale)
    return scale * policy.delay_s(attempt)


def effective_policy(
    workflow_retry: RetrySpec | None, action_retry: RetrySpec | None
) -> RetryPolicy | None:
    """The failed action's own policy, else the workflow's; None: the v1 rules apply."""
    chosen = action_retry or workflow_retry
    return None if chosen is None else chosen.policy()
