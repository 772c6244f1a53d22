"""Triggers v2 and inputs through the API (SPEC 9 and 10): create, read, trigger with input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.adapters.memory import InMemoryPublisher, InMemoryWorkflowRepository
from shared.domain.inputs import execution_input
from shared.domain.models import TriggerType, WorkflowStatus
from tests.fakes.clock import FakeClock

LOG = {"type": "log", "message": "hello"}
INPUTS = {"customer": {"type": "string", "required": True},
          "limit": {"type": "integer", "default": 10}}
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # FakeClock's start


def body(trigger: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"workflowId": "wf", "trigger": trigger, "actions": [LOG], **extra}


async def create(api: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    return await api.post("/workflows", json=payload)


@pytest.mark.parametrize(("trigger", "extra", "next_run", "seconds"), [
    pytest.param({"type": "cron", "cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}, {},
                 "2026-01-01T08:00:00Z", 8 * 3600, id="cron-berlin"),  # Thu 1 Jan, 09:00 CET
    pytest.param({"type": "cron", "cron": "*/15 * * * *"}, {}, "2026-01-01T00:15:00Z", 900,
                 id="cron-utc-default"),
    pytest.param({"type": "once", "after": "90s"}, {}, "2026-01-01T00:01:30Z", 90,
                 id="once-after"),
    pytest.param({"type": "once", "at": "2026-01-01T03:00:00+02:00"}, {},
                 "2026-01-01T01:00:00Z", 3600, id="once-at-offset"),
    pytest.param({"type": "periodic", "interval": "30s", "input": {"customer": "acme"}},
                 {"inputs": INPUTS, "overlap": "buffer_one", "catchup_window": "0s"},
                 "2026-01-01T00:00:30Z", 30, id="periodic-with-input-overlap-catchup"),
])
async def test_scheduled_kinds_are_stored_with_their_first_run(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository, trigger: dict[str, Any],
    extra: dict[str, Any], next_run: str, seconds: float,
) -> None:
    assert (await create(api, body(trigger, **extra))).status_code == 201

    shown = (await api.get("/workflows/wf")).json()
    assert shown["trigger"]["next_run"].replace("+00:00", "Z") == next_run
    assert shown["seconds_to_next_run"] == seconds
    assert shown["trigger"]["type"] == trigger["type"]
    for name, value in {**trigger, **{k: v for k, v in extra.items() if k != "inputs"}}.items():
        if name not in ("at", "type"):
            assert shown["trigger"][name] == value, name


async def test_v1_answers_keep_their_exact_trigger_keys(api: httpx.AsyncClient) -> None:
    assert (await create(api, body({"type": "manual"}))).status_code == 201

    trigger = (await api.get("/workflows/wf")).json()["trigger"]
    assert set(trigger) == {"type", "interval", "interval_ms", "next_run", "status"}


@pytest.mark.parametrize(("payload", "fragments"), [
    pytest.param(body({"type": "cron", "cron": "61 * * * *"}), ["trigger.cron", "61"],
                 id="cron-bad-minute"),
    pytest.param(body({"type": "cron", "cron": "* * * *"}), ["trigger.cron", "5 fields"],
                 id="cron-four-fields"),
    pytest.param(body({"type": "cron", "cron": "* * * * *", "timezone": "Mars/Olympus"}),
                 ["trigger.timezone", "Mars/Olympus"], id="zone-unknown"),
    pytest.param(body({"type": "cron"}), ["trigger.cron", "trigger.type"], id="cron-missing"),
    pytest.param(body({"type": "cron", "cron": "* * * * *", "interval": "5s"}),
                 ["trigger.interval", "not permitted"], id="cron-with-interval"),
    pytest.param(body({"type": "once", "at": "2025-12-31T23:00:00+00:00"}),
                 ["trigger.at", "not in the future"], id="at-in-the-past"),
    pytest.param(body({"type": "once", "at": "2026-06-01T09:00:00"}),
                 ["trigger.at", "offset"], id="at-without-offset"),
    pytest.param(body({"type": "once", "at": "tomorrow"}), ["trigger.at", "ISO 8601"],
                 id="at-not-a-time"),
    pytest.param(body({"type": "once", "after": "367d"}), ["trigger.after", "366 days"],
                 id="after-too-long"),
    pytest.param(body({"type": "once", "after": "0s"}), ["trigger.after"], id="after-zero"),
    pytest.param(body({"type": "once", "after": "soon"}), ["trigger.after"], id="after-text"),
    pytest.param(body({"type": "once"}), ["exactly one of trigger.at"], id="once-neither"),
    pytest.param(body({"type": "once", "after": "5s", "at": "2030-01-01T00:00:00Z"}),
                 ["exactly one of trigger.at"], id="once-both"),
    pytest.param(body({"type": "manual", "input": {}}), ["trigger.input", "not permitted"],
                 id="manual-with-input"),
    pytest.param(body({"type": "manual"}, overlap="skip"), ["overlap", "scheduled"],
                 id="manual-with-overlap"),
    pytest.param(body({"type": "periodic", "interval": "5s"}, overlap="later"), ["overlap"],
                 id="overlap-unknown"),
    pytest.param(body({"type": "periodic", "interval": "5s"}, catchup_window="1 hour"),
                 ["catchup_window"], id="catchup-bad"),
    pytest.param(body({"type": "periodic", "interval": "5s", "input": {"customer": "x"}}),
                 ["trigger.input", "declares no inputs"], id="input-undeclared"),
    pytest.param(body({"type": "cron", "cron": "* * * * *"}, inputs=INPUTS),
                 ["trigger.input", "'customer'", "required"], id="input-required-missing"),
    pytest.param(body({"type": "cron", "cron": "* * * * *", "input": {"customer": 3}},
                      inputs=INPUTS), ["'customer'", "string"], id="input-wrong-type"),
    pytest.param(body({"type": "manual"}, inputs={"n": {"type": "integer", "default": "x"}}),
                 ["inputs", "'n'", "default"], id="default-wrong-type"),
    pytest.param(body({"type": "manual"}, inputs={"n": {"type": "date"}}), ["inputs", "type"],
                 id="input-type-unknown"),
    pytest.param(body({"type": "manual"}, inputs={"bad name": {"type": "string"}}),
                 ["inputs"], id="input-name-bad"),
])
async def test_bad_trigger_or_inputs_is_400_naming_it_and_nothing_stored(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository,
    payload: dict[str, Any], fragments: list[str],
) -> None:
    response = await create(api, payload)

    assert response.status_code == 400, response.text
    for fragment in fragments:
        assert fragment in response.json()["error"]
    assert await workflows.list_after(after_id=None, limit=5) == []


# --- POST /workflows/{id}/trigger with input ------------------------------------------------


async def manual_with_inputs(api: httpx.AsyncClient, inputs: dict[str, Any] = INPUTS) -> None:
    response = await create(api, body({"type": "manual"}, inputs=inputs))
    assert response.status_code == 201, response.text


async def test_trigger_with_input_is_claimed_with_it_and_defaults_apply(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository,
    publisher: InMemoryPublisher,
) -> None:
    await manual_with_inputs(api)

    response = await api.post("/workflows/wf/trigger", json={"input": {"customer": "acme"}})

    assert response.status_code == 200, response.text
    stored = await workflows.get("wf")
    assert stored is not None and stored.status == WorkflowStatus.SCHEDULED
    assert stored.trigger.run_input == {"customer": "acme", "limit": 10}
    assert execution_input(stored) == {"customer": "acme", "limit": 10}
    assert len(publisher.published) == 1


@pytest.mark.parametrize(("given", "fragments"), [
    pytest.param(None, ["'customer'", "required"], id="no-body"),
    pytest.param({}, ["'customer'", "required"], id="empty-input"),
    pytest.param({"customer": "acme", "colour": "red"}, ["colour", "undeclared"],
                 id="undeclared"),
    pytest.param({"customer": "acme", "limit": "ten"}, ["'limit'", "integer"], id="wrong-type"),
    pytest.param({"customer": "acme", "limit": True}, ["'limit'", "integer"], id="bool-no-int"),
])
async def test_bad_trigger_input_is_400_naming_it_and_nothing_dispatched(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository,
    publisher: InMemoryPublisher, given: dict[str, Any] | None, fragments: list[str],
) -> None:
    await manual_with_inputs(api)

    json_body = None if given is None else {"input": given}
    response = await api.post("/workflows/wf/trigger", json=json_body)

    assert response.status_code == 400, response.text
    for fragment in fragments:
        assert fragment in response.json()["error"]
    stored = await workflows.get("wf")
    assert stored is not None and stored.status == WorkflowStatus.ACTIVE
    assert stored.trigger.status is None and publisher.published == []


async def test_a_workflow_without_inputs_accepts_no_input(
    api: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    assert (await create(api, body({"type": "manual"}))).status_code == 201

    refused = await api.post("/workflows/wf/trigger", json={"input": {"x": 1}})
    accepted = await api.post("/workflows/wf/trigger", json={})

    assert refused.status_code == 400 and "declares no inputs" in refused.json()["error"]
    assert accepted.status_code == 200 and len(publisher.published) == 1


async def test_optional_inputs_only_trigger_without_body_gets_the_defaults(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository
) -> None:
    await manual_with_inputs(api, {"limit": {"type": "integer", "default": 10}})

    assert (await api.post("/workflows/wf/trigger")).status_code == 200

    stored = await workflows.get("wf")
    assert stored is not None and stored.trigger.run_input is None
    assert execution_input(stored) == {"limit": 10}


async def test_trigger_with_input_unknown_is_404_busy_is_409(
    api: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    missing = await api.post("/workflows/nope/trigger", json={"input": {"customer": "a"}})
    await manual_with_inputs(api)
    first = await api.post("/workflows/wf/trigger", json={"input": {"customer": "a"}})
    busy = await api.post("/workflows/wf/trigger", json={"input": {"customer": "b"}})

    assert missing.status_code == 404
    assert first.status_code == 200
    assert busy.status_code == 409 and busy.json()["status"] == "busy"
    assert len(publisher.published) == 1


@pytest.mark.parametrize("trigger", [
    {"type": "cron", "cron": "* * * * *"}, {"type": "once", "after": "1h"},
])
async def test_scheduled_kinds_cannot_be_triggered_manually(
    api: httpx.AsyncClient, trigger: dict[str, Any]
) -> None:
    assert (await create(api, body(trigger))).status_code == 201

    response = await api.post("/workflows/wf/trigger")

    assert response.status_code == 400
    assert "cannot be triggered manually" in response.json()["error"]


async def test_once_after_is_stored_as_an_instant(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository, clock: FakeClock
) -> None:
    assert (await create(api, body({"type": "once", "after": "2h"}))).status_code == 201

    stored = await workflows.get("wf")
    assert stored is not None and stored.trigger.type == TriggerType.ONCE
    assert stored.trigger.at == stored.trigger.next_run == clock.now() + timedelta(hours=2)
