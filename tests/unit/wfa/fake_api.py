"""A small in-memory stand-in for workflows_svc's REST API, as an httpx transport."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from typer.testing import CliRunner

from wfa.cli import app

Json = dict[str, Any]
NOW = "2030-01-02T03:04:05Z"


def stored_form(body: Json, *, labels: bool) -> Json:
    """What GET /workflows/{id} answers for a created body (snake_case, filled in)."""
    trigger = body["trigger"]
    actions = [
        {"action_id": n, "type": a["type"], "message": a.get("message"), "url": a.get("url"),
         "method": a["method"].upper() if a.get("method") else None}
        for n, a in enumerate(body["actions"], start=1)
    ]
    stored: Json = {
        "workflow_id": body["workflowId"], "status": "active", "created_at": NOW,
        "archived_at": None, "actions": actions, "seconds_to_next_run": 0.0,
        "trigger": {"type": trigger["type"], "interval": trigger.get("interval"),
                    "interval_ms": None, "next_run": None, "status": None},
    }
    if labels:
        stored["labels"] = body.get("labels") or {}
    return stored


def execution(workflow_id: str, status: str, results: list[str], total: int = 2) -> Json:
    """An execution record whose actions 1..n ended with `results`."""
    return {
        "id": "", "workflow_id": workflow_id, "status": status, "created_at": NOW,
        "finished_at": None if status == "pending" else NOW, "retries": 4,
        "last_failed_action": None, "total_actions": total, "reason": None,
        "executed_actions": [
            {"action_id": n, "status": r, "logs": f"stdout: step {n}"}
            for n, r in enumerate(results, start=1)
        ],
    }


@dataclass
class FakeApi:
    """Routes of today's server; `v2` adds PUT and the lifecycle routes, `labels` the field."""

    v2: bool = False
    labels: bool = False
    workflows: dict[str, Json] = field(default_factory=dict)
    executions: dict[str, list[Json]] = field(default_factory=dict)  # id -> states to come
    order: list[str] = field(default_factory=list)  # execution ids, oldest first
    script: list[Json] = field(default_factory=list)  # states of the next triggered run
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    errors: dict[tuple[str, str], httpx.Response] = field(default_factory=dict)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def add(self, body: Json) -> None:
        self.workflows[body["workflowId"]] = stored_form(body, labels=self.labels)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path
        self.calls.append((request.method, path, body))
        if (request.method, path) in self.errors:
            return self.errors[(request.method, path)]
        parts = path.strip("/").split("/")
        route = getattr(self, f"_{request.method.lower()}_{len(parts)}", None)
        answer = route(parts, body, request) if route else None
        return answer if answer is not None else _json(404, {"error": "Not Found"})

    # GET /openapi.json, /workflows, /workflows/{id}, /workflows/{id}/executions, /executions/{id}
    def _get_1(self, parts: list[str], _: Any, request: httpx.Request) -> httpx.Response | None:
        if parts == ["openapi.json"]:
            fields = {"workflowId": {}, "trigger": {}, "actions": {}}
            if self.labels:
                fields["labels"] = {}
            return _json(200, {"components": {"schemas": {"WorkflowCreate": {
                "properties": fields}}}})
        if parts == ["workflows"]:
            return self._page(sorted(self.workflows.values(), key=lambda w: w["workflow_id"]),
                              request)
        return None

    def _get_2(self, parts: list[str], _: Any, __: httpx.Request) -> httpx.Response | None:
        if parts[0] == "workflows":
            found = self.workflows.get(parts[1])
            return _json(200, found) if found else _json(404, {"error": "workflow not found"})
        if parts[0] == "executions":
            states = self.executions.get(parts[1])
            if not states:
                return _json(404, {"error": "execution not found"})
            return _json(200, states.pop(0) if len(states) > 1 else states[0])
        return None

    def _get_3(self, parts: list[str], _: Any, request: httpx.Request) -> httpx.Response | None:
        if parts[0] != "workflows" or parts[2] != "executions":
            return None
        mine = [self.executions[i][0] for i in reversed(self.order)
                if self.executions[i][0]["workflow_id"] == parts[1]]
        return self._page(mine, request)

    def _post_1(self, parts: list[str], body: Any, _: httpx.Request) -> httpx.Response | None:
        if parts != ["workflows"]:
            return None
        if body["workflowId"] in self.workflows:
            return _json(409, {"error": f"workflow {body['workflowId']!r} already exists"})
        unknown = [a["type"] for a in body["actions"] if a["type"] not in ("log", "http-request")]
        if unknown or set(body) - {"workflowId", "trigger", "actions", "labels"}:
            return _json(400, {"error": f"actions.0.type: unknown action {unknown}"})
        self.add(body)
        return _json(201, {"workflowId": body["workflowId"]})

    def _post_3(self, parts: list[str], body: Any, _: httpx.Request) -> httpx.Response | None:
        if parts[0] == "workflows" and parts[2] == "trigger":
            if parts[1] not in self.workflows:
                return _json(404, {"error": "workflow not found"})
            execution_id = str(uuid.uuid4())
            states = [{**s, "id": execution_id} for s in self.script] or [
                {**execution(parts[1], "ok", ["ok", "ok"]), "id": execution_id}]
            self.executions[execution_id] = states
            self.order.append(execution_id)
            return _json(200, {"status": "workflow triggered"})
        if self.v2 and parts[2] == "cancel":
            running = parts[1].startswith("running")  # 202: it ends after its actions in flight
            answer = {"id": parts[1], "status": "pending" if running else "cancelled",
                      "cancel_requested": running}
            return _json(202 if running else 200, answer)
        if self.v2 and parts[2] in ("pause", "resume", "retry"):
            return _json(200, {"status": parts[2]})
        return None

    def _post_4(self, parts: list[str], body: Any, _: httpx.Request) -> httpx.Response | None:
        return _json(200, {"status": "delivered"}) if self.v2 and parts[2] == "signals" else None

    def _put_2(self, parts: list[str], body: Any, _: httpx.Request) -> httpx.Response | None:
        if not self.v2:
            return _json(405, {"error": "Method Not Allowed"})
        self.add(body)
        return _json(200, {"workflowId": parts[1], "version": 2})

    def _delete_2(self, parts: list[str], _: Any, __: httpx.Request) -> httpx.Response | None:
        found = self.workflows.get(parts[1])
        if found is None:
            return _json(404, {"error": "workflow not found"})
        found["archived_at"] = NOW
        return httpx.Response(204)

    def _page(self, items: list[Json], request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "50"))
        start = int(request.url.params.get("cursor", "0"))
        page = items[start:start + limit]
        more = start + limit < len(items)
        return _json(200, {"items": page, "next_cursor": str(start + limit) if more else None})


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str


def run(api: FakeApi | httpx.BaseTransport, *args: str, env: dict[str, str] | None = None) -> Ran:
    """Run `wfa ARGS` in-process against the fake; stdout and stderr apart."""
    transport = api.transport() if isinstance(api, FakeApi) else api
    result = CliRunner().invoke(
        app, ["--poll-interval", "0", *args], obj=transport, env=env or {},
        catch_exceptions=False,
    )
    return Ran(result.exit_code, result.stdout, result.stderr)
