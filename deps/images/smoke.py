#!/usr/bin/env python3
"""Checks of the running compose stack through its published ports (run by deps/images.sh
inside the stack's network namespace; standard library only).

    smoke.py [DEADLINE_S]

Each service answers /health and /ready on 127.0.0.1:8081-8083; one manual workflow is
created, triggered, and its execution finishes `ok`. One line per check, printed as it
completes; the exit code is the number of failed checks (0: all passed). All checks share
one deadline, so a stack that does not answer fails them all within it.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

SERVICES = {"workflows-svc": 8081, "scheduler-svc": 8082, "runner-svc": 8083}
API = "http://127.0.0.1:8081"


def call(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def poll(what: str, fn: Any, deadline: float) -> tuple[bool, str]:
    """Call fn() until it returns (True, detail) or the deadline passes."""
    detail = "no answer"
    while True:
        try:
            ok, detail = fn()
            if ok:
                return True, detail
        except OSError as exc:  # refused, reset, timed out
            detail = repr(exc)
        if time.monotonic() > deadline:
            return False, f"{what}: {detail}"
        time.sleep(0.5)


def once(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    try:
        return call(method, url, body)
    except OSError as exc:  # refused, reset, timed out
        return 0, repr(exc)


def main(argv: list[str]) -> int:
    deadline = time.monotonic() + (float(argv[1]) if len(argv) > 1 else 90.0)
    failed = 0

    def report(label: str, ok: bool, detail: str) -> None:
        nonlocal failed
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {detail}", flush=True)

    for name, port in SERVICES.items():
        for path in ("/health", "/ready"):
            url = f"http://127.0.0.1:{port}{path}"

            def check(url: str = url) -> tuple[bool, str]:
                status, body = call("GET", url)
                return status == 200 and isinstance(body, dict) and body.get("ok") is True, (
                    f"{status} {body}")

            report(f"{name} {path} on published port {port}", *poll(url, check, deadline))

    workflow_id = f"containers-smoke-{uuid.uuid4().hex[:8]}"
    status, body = once("POST", f"{API}/workflows", {
        "workflowId": workflow_id, "trigger": {"type": "manual"},
        "actions": [{"type": "log", "message": "hello from the container tier"}]})
    report(f"create workflow {workflow_id}", status == 201, f"{status} {body}")
    status, body = once("POST", f"{API}/workflows/{workflow_id}/trigger")
    report("trigger it", status == 200, f"{status} {body}")

    def finished() -> tuple[bool, str]:
        status, body = call("GET", f"{API}/workflows/{workflow_id}/executions?limit=5")
        items = body.get("items", []) if isinstance(body, dict) else []
        done = [e for e in items if e.get("status") == "ok"]
        return bool(done), (f"execution {done[0]['id']} ok, "
                            f"{done[0]['executed_actions']}" if done else f"{status} {body}")

    report("its execution finishes ok", *poll("execution", finished, deadline))
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv))
