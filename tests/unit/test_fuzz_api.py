"""Fuzz workflows_svc from its own OpenAPI schema: no 5xx, every answer matches the schema.

Schemathesis runs the app in-process (its own event-loop thread, lifespan included) on the
in-memory adapters. Each operation gets its explicit examples, the coverage phase's boundary
values and `MAX_EXAMPLES` generated cases (valid and invalid); every request sent is counted,
and the last test checks that together they sent at least `MIN_REQUESTS`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryWorkflowRepository,
)
from shared.clock import FakeClock
from shared.settings import Settings
from workflows_svc.app import Wired, create_app
from workflows_svc.service import WorkflowService

MIN_REQUESTS = 1_000
MAX_EXAMPLES = 150
SENT: Counter[str] = Counter()
# 400s for rules a JSON Schema cannot state, so schema-valid input may still break them:
# the 366-day bound of an interval string, the content of an opaque cursor, and the state
# of the workflow addressed. Only these may answer a schema-valid request with 400.
SEMANTIC_400 = frozenset({
    "trigger.interval must be at most 366 days",
    "cursor is not valid",
    "Periodic workflows cannot be triggered manually",
})


@asynccontextmanager
async def in_memory(config: Settings) -> AsyncIterator[Wired]:
    service = WorkflowService(
        workflows=InMemoryWorkflowRepository(),
        executions=InMemoryExecutionRepository(),
        publisher=InMemoryPublisher(),
        clock=FakeClock(),
        min_interval_s=config.min_interval_s,
        trigger_rate_limit=config.trigger_rate_limit,
    )

    async def ok() -> bool:
        return True

    yield Wired(service, {"mongodb": ok, "kafka": ok})


app = create_app(Settings(_env_file=None), in_memory)  # type: ignore[call-arg]
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
OPERATIONS = {result.ok().label for result in schema.get_all_operations()}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_operation_answers_match_the_schema(case: schemathesis.Case) -> None:
    SENT[case.operation.label] += 1
    response = case.call()

    assert response.status_code < 500, response.text
    excluded = []
    if response.status_code == 400 and response.json().get("error") in SEMANTIC_400:
        excluded.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded)


def test_fuzzing_sent_enough_requests() -> None:
    """Runs after the fuzz tests above (module order): all of them ran and sent enough."""
    assert set(SENT) == OPERATIONS, "run the whole module: some operations were not fuzzed"
    total = sum(SENT.values())
    print(f"fuzz requests: {total} ({dict(sorted(SENT.items()))})")
    assert total >= MIN_REQUESTS, dict(SENT)
