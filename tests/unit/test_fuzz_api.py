"""Fuzz workflows_svc from its own OpenAPI schema: no 5xx, every answer matches the schema.

Schemathesis runs the app in-process (its own event-loop thread, lifespan included) on the
in-memory adapters, seeded with a few workflows and executions. Each operation gets the
coverage phase's boundary values and `MAX_EXAMPLES` generated cases, valid and invalid; each
response goes through every default check (no server error, status code, content type,
headers and body conform to the schema, invalid data rejected, valid data accepted).
Every request sent is counted, and the last test checks that together they sent at least
`MIN_REQUESTS`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from shared.actions import HttpRequestAction, LogAction
from shared.adapters.memory import (
    InMemoryExecutionRepository,
    InMemoryPublisher,
    InMemoryVersions,
    InMemoryWorkflowRepository,
)
from shared.domain.execution_record import from_results
from shared.domain.models import (
    ActionResult,
    ActionResultStatus,
    Execution,
    ExecutionStatus,
    Trigger,
    TriggerType,
    Workflow,
)
from shared.infra.settings import Settings
from tests.fakes.clock import FakeClock
from workflows_svc.app import Wired, create_app
from workflows_svc.execution_service import ExecutionService
from workflows_svc.lifecycle_service import LifecycleService
from workflows_svc.service import WorkflowService

MIN_REQUESTS = 1_000
MAX_EXAMPLES = 150
SENT: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
# 400s for rules a JSON Schema cannot state, so schema-valid input may still break them:
# the 366-day bound of an interval string, the content of an opaque cursor, and the state
# of the workflow addressed. Only these may answer a schema-valid request with 400.
SEMANTIC_400 = frozenset(
    {
        "trigger.interval must be at most 366 days",
        "cursor is not valid",
        "Periodic workflows cannot be triggered manually",
    }
) | frozenset(
    # SPEC 12: a PUT body naming another workflow, a retry `from` an unknown action.
    {"workflowId must match the path's id", "from: the workflow has no such action"}
)
# Rules a JSON Schema cannot state, matched by their start: the cross-field checks of actions
# (shared.actions.rules: names and depends_on, template references, allowed topics, timeout_s
# at most HTTP_TIMEOUT_S), and Part II's trigger rules (SPEC 9 and 10): a cron expression, a
# time zone, an instant in the future, a duration's bound, inputs against their declarations,
# which fields a trigger kind allows, and triggers of scheduled kinds.
SEMANTIC_400_PREFIXES = (
    "actions[", "actions: ",
    "trigger.cron", "trigger.timezone:", "trigger.at ", "trigger.after:", "trigger.input:",
    "input:", "inputs:", "catchup_window", "overlap is only allowed",
    "Cron workflows cannot", "Once workflows cannot",
)
# ... and found anywhere in the message: a duration's 366-day bound, a delay's one-of.
SEMANTIC_400_ANYWHERE = ("longer than the maximum of 366 days", "exactly one of duration and until")


async def seed(
    workflows: InMemoryWorkflowRepository, executions: InMemoryExecutionRepository, now: datetime
) -> None:
    """State under the ids a fuzzer draws first ("0", "00", ...), so reads return data."""
    actions = [
        LogAction(action_id=1, message="hello"),
        HttpRequestAction(action_id=2, url="https://example.com", method="GET"),
    ]
    manual = Trigger(type=TriggerType.MANUAL)
    periodic = Trigger(
        type=TriggerType.PERIODIC, interval="30s", interval_ms=30_000,
        next_run=now + timedelta(seconds=30),
    )
    await workflows.create(Workflow(workflow_id="0", created_at=now, trigger=manual,
                                    actions=actions))
    await workflows.create(Workflow(workflow_id="00", created_at=now, trigger=periodic,
                                    actions=actions))
    await workflows.create(Workflow(workflow_id="000", created_at=now, archived_at=now,
                                    trigger=manual, actions=actions))
    ok = ActionResult(action_id=1, status=ActionResultStatus.OK, logs="hello")
    failed = ActionResult(action_id=2, status=ActionResultStatus.FAILED, logs="timed out")
    for execution in [
        Execution(id="0", workflow_id="0", status=ExecutionStatus.OK, created_at=now,
                  finished_at=now, retries=3, total_actions=2,
                  **from_results([ok, ok.model_copy(update={"action_id": 2})])),
        Execution(id="00", workflow_id="0", status=ExecutionStatus.FAILED,
                  created_at=now + timedelta(seconds=1), finished_at=now, retries=0,
                  total_actions=2, **from_results([ok, failed])),
        Execution(id="000", workflow_id="0", created_at=now + timedelta(seconds=2), retries=4,
                  total_actions=2),
    ]:
        await executions.get_or_create(execution)


@asynccontextmanager
async def in_memory(config: Settings) -> AsyncIterator[Wired]:
    workflows, executions, clock = (
        InMemoryWorkflowRepository(), InMemoryExecutionRepository(), FakeClock()
    )
    await seed(workflows, executions, clock.now())
    service = WorkflowService(
        workflows=workflows, executions=executions, publisher=InMemoryPublisher(), clock=clock,
        min_interval_s=config.min_interval_s, trigger_rate_limit=config.trigger_rate_limit,
    )

    async def ok() -> bool:
        return True

    lifecycle = LifecycleService(workflows=workflows, versions=InMemoryVersions(), clock=clock,
                                 definitions=service)
    runs = ExecutionService(workflows=workflows, executions=executions,
                            publisher=InMemoryPublisher(), clock=clock)
    yield Wired(service, {"mongodb": ok, "kafka": ok}, lifecycle, runs)


app = create_app(Settings(_env_file=None), in_memory)  # type: ignore[call-arg]
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
OPERATIONS = {result.ok().label for result in schema.get_all_operations()}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
    ],
)
def test_operation_answers_match_the_schema(case: schemathesis.Case) -> None:
    SENT[case.operation.label] += 1
    response = case.call()
    STATUSES[response.status_code] += 1

    assert response.status_code < 500, response.text
    excluded = []
    error = response.json().get("error") if response.status_code == 400 else None
    if error is not None and (
        error in SEMANTIC_400 or error.startswith(SEMANTIC_400_PREFIXES)
        or any(part in error for part in SEMANTIC_400_ANYWHERE)
    ):
        excluded.append(positive_data_acceptance)
    if response.status_code == 413:
        # A negative case's over-long string (a free-form JSON `body`/`value` beside it) can
        # exceed MAX_BODY_BYTES: refused before validation, by the cap tested in test_bad_input.
        excluded.append(negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)


def test_fuzzing_sent_enough_requests() -> None:
    """Runs after the fuzz tests above (module order): all of them ran and sent enough."""
    assert set(SENT) == OPERATIONS, "run the whole module: some operations were not fuzzed"
    total = sum(SENT.values())
    print(
        f"fuzz requests: {total}; per operation {dict(sorted(SENT.items()))}; "
        f"per status {dict(sorted(STATUSES.items()))}"
    )
    assert total >= MIN_REQUESTS, dict(SENT)
