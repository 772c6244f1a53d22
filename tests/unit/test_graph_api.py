"""POST /workflows with a graph (SPEC 9) and wait kinds (SPEC 11): what is stored, what is 400."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.actions import DelayAction, LogAction, WaitForSignalAction
from shared.adapters.memory import InMemoryWorkflowRepository


def log(name: str, depends_on: list[str] | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "log", "message": name, "name": name}
    if depends_on is not None:
        action["depends_on"] = depends_on
    return action


def body(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"workflowId": "g", "trigger": {"type": "manual"}, "actions": actions}


async def test_a_diamond_is_stored_with_names_and_dependencies(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository
) -> None:
    diamond = [log("a"), log("b", ["a"]), log("c", ["a"]), log("d", ["b", "c"])]
    response = await api.post("/workflows", json=body(diamond))
    assert response.status_code == 201, response.text
    stored = await workflows.get("g")
    assert stored is not None
    assert [(a.action_id, a.name, a.depends_on) for a in stored.actions] == [
        (1, "a", None), (2, "b", ["a"]), (3, "c", ["a"]), (4, "d", ["b", "c"]),
    ]


@pytest.mark.parametrize(("actions", "named"), [
    ([log("a", ["zz"])], "'zz'"),
    ([log("a", ["a"])], "'a' depends on itself"),
    ([log("a", ["b"]), log("b", ["a"])], "cycle: a -> b -> a"),
    ([log("a"), log("a")], "'a' is used twice"),
    ([{"type": "log", "message": "m"}, log("action-1")], "'action-1' is used twice"),
])
async def test_a_bad_graph_is_400_naming_the_actions_and_stores_nothing(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository,
    actions: list[dict[str, Any]], named: str,
) -> None:
    response = await api.post("/workflows", json=body(actions))
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("actions: ")
    assert named in response.json()["error"]
    assert await workflows.get("g") is None


async def test_wait_kinds_are_stored(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository
) -> None:
    actions = [
        {"type": "delay", "duration": "10m"},
        {"type": "delay", "until": "2030-01-01T10:00:00+02:00"},
        {"type": "wait-for-signal", "signal": "approved", "timeout": "24h", "name": "approval"},
        {"type": "log", "message": "done"},
    ]
    response = await api.post("/workflows", json=body(actions))
    assert response.status_code == 201, response.text
    stored = await workflows.get("g")
    assert stored is not None
    first, second, third, last = stored.actions
    assert isinstance(first, DelayAction) and first.duration == "10m"
    assert isinstance(second, DelayAction) and second.until is not None
    assert second.until.isoformat() == "2030-01-01T08:00:00+00:00"
    assert isinstance(third, WaitForSignalAction)
    assert (third.signal, third.timeout, third.name) == ("approved", "24h", "approval")
    assert isinstance(last, LogAction)


@pytest.mark.parametrize(("action", "field"), [
    ({"type": "delay"}, "exactly one of duration and until"),
    ({"type": "delay", "duration": "1m", "until": "2030-01-01T00:00:00Z"}, "exactly one"),
    ({"type": "delay", "duration": "10x"}, "duration"),
    ({"type": "delay", "duration": "400d"}, "366 days"),
    ({"type": "delay", "duration": "1000000000d"}, "366 days"),
    ({"type": "delay", "until": "2030-01-01T00:00:00"}, "until"),
    ({"type": "wait-for-signal"}, "signal"),
    ({"type": "wait-for-signal", "signal": "a/b"}, "signal"),
    ({"type": "wait-for-signal", "signal": "ok", "timeout": "0s"}, "timeout"),
])
async def test_bad_wait_actions_are_400_naming_the_field(
    api: httpx.AsyncClient, workflows: InMemoryWorkflowRepository, action: dict[str, Any],
    field: str,
) -> None:
    response = await api.post("/workflows", json=body([action]))
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]
    assert await workflows.get("g") is None
