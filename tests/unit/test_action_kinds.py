"""Action kinds as a registry: every kind has a handler, none is a silent default."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from prometheus_client import REGISTRY
from pydantic import TypeAdapter, ValidationError
from structlog.testing import capture_logs

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.log import LogHandler
from runner_svc.main import action_dispatcher
from shared.actions import Action, ActionIn, HttpRequestAction, LogAction
from shared.adapters.mappers import WORKFLOW_HANDLER
from shared.domain.models import ActionResult, ActionResultStatus

ACTION = TypeAdapter(Action)


def kinds(union: Any) -> list[str]:
    """The `type` tags of a discriminated union, in its order."""
    members = get_args(get_args(union)[0])
    return [get_args(m.model_fields["type"].annotation)[0] for m in members]


def duration_count(action_type: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "action_duration_seconds_count", {"type": action_type, "status": status}
    )
    return value or 0.0


class NeverCalled:
    async def run(self, action: Any, context: Any = None) -> ActionResult:
        raise AssertionError(f"handler ran for {action!r}")


def test_the_request_kinds_and_the_stored_kinds_are_the_same() -> None:
    assert kinds(ActionIn) == kinds(Action) == [
        "log", "http-request", "kafka-publish", "delay", "wait-for-signal"
    ]


def test_every_stored_kind_has_a_handler_in_the_runner() -> None:
    dispatcher = action_dispatcher(NeverCalled(), NeverCalled())  # type: ignore[arg-type]
    assert dispatcher.kinds == sorted(kinds(Action))


def test_stored_documents_of_the_first_shape_stay_readable() -> None:
    workflow = WORKFLOW_HANDLER.from_document({
        "_id": "x", "workflow_id": "w", "status": "active",
        "created_at": "2026-01-01T00:00:00Z", "trigger": {"type": "manual"},
        "actions": [
            {"action_id": 1, "type": "log", "message": "m", "url": None, "method": None},
            {"action_id": 2, "type": "http-request", "message": None,
             "url": "https://example.com/", "method": "POST"},
        ],
    })

    assert workflow.actions == [
        LogAction(action_id=1, message="m"),
        HttpRequestAction(action_id=2, url="https://example.com/", method="POST"),
    ]
    assert [(a.name, a.depends_on) for a in workflow.actions] == [(None, None)] * 2


@pytest.mark.parametrize("document", [
    {"action_id": 1, "type": "email", "to": "a@example.com"},
    {"action_id": 1, "message": "no type"},
])
def test_a_stored_action_of_no_known_kind_is_an_error(document: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ACTION.validate_python(document)


async def test_each_action_goes_to_the_handler_of_its_kind() -> None:
    dispatcher = ActionDispatcher({"log": LogHandler(), "http-request": NeverCalled()})
    before = duration_count("log", "ok")

    result = await dispatcher.run(LogAction(action_id=4, message="hello"))

    assert result == ActionResult(action_id=4, status=ActionResultStatus.OK, logs="stdout: hello")
    assert duration_count("log", "ok") == before + 1


async def test_a_kind_with_no_handler_fails_its_action_and_says_so() -> None:
    dispatcher = ActionDispatcher({"log": LogHandler()})
    action = HttpRequestAction(action_id=2, url="https://example.com/", method="GET")
    before = duration_count("http-request", "failed")

    with capture_logs() as logs:
        result = await dispatcher.run(action)

    assert result.action_id == 2 and result.status == ActionResultStatus.FAILED
    assert result.logs == "action type 'http-request' has no handler in this runner"
    errors = [e for e in logs if e["event"] == "no handler for action type"]
    assert errors == [{
        "event": "no handler for action type", "log_level": "error", "action_id": 2,
        "action_type": "http-request", "known_types": ["log"],
    }]
    assert duration_count("http-request", "failed") == before + 1
