"""Every failure is one line on stderr, a non-zero exit status and no traceback."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.wfa.fake_api import FakeApi, run
from wfa.client import MAX_RETRY_AFTER_S, SHED_RETRIES, Api
from wfa.errors import ApiError


def answering(status: int, body: object, headers: dict[str, str] | None = None) -> FakeApi:
    api = FakeApi()
    api.add({"workflowId": "w", "trigger": {"type": "manual"},
             "actions": [{"type": "log", "message": "m"}]})
    api.errors[("POST", "/workflows/w/trigger")] = httpx.Response(
        status, json=body, headers=headers or {}
    )
    return api


@pytest.mark.parametrize(("status", "body", "headers", "line"), [
    (401, {"error": "missing or invalid API key"}, {},
     "401 unauthorized (POST /workflows/w/trigger): missing or invalid API key; "
     "set WFA_API_KEY to the server's API_KEY"),
    (404, {"error": "workflow 'w' not found"}, {},
     "404 not found (POST /workflows/w/trigger): workflow 'w' not found"),
    (409, {"error": "workflow is waiting for a retry", "status": "pending",
           "nextRetryAt": "2030-01-01T00:00:09Z"}, {},
     "409 conflict (POST /workflows/w/trigger): workflow is waiting for a retry, "
     "status: pending, nextRetryAt: 2030-01-01T00:00:09Z"),
    (429, {"error": "too many triggers"}, {"Retry-After": "7"},
     "429 too many requests (POST /workflows/w/trigger): too many triggers; retry after 7 s"),
    (400, {"error": "Periodic workflows cannot be triggered manually"}, {},
     "400 bad request (POST /workflows/w/trigger): "
     "Periodic workflows cannot be triggered manually"),
    (503, {"error": "database unavailable"}, {},
     "503 service unavailable (POST /workflows/w/trigger): database unavailable"),
])
def test_error_answers_are_one_line(
    status: int, body: object, headers: dict[str, str], line: str
) -> None:
    result = run(answering(status, body, headers), "trigger", "w")
    assert result.exit_code == 3
    assert result.stderr == f"wfa: error: {line}\n"
    assert result.stdout == ""


def test_a_rejected_key_says_so() -> None:
    result = run(answering(401, {"error": "missing or invalid API key"}), "trigger", "w",
                 env={"WFA_API_KEY": "wrong"})
    assert result.stderr.rstrip().endswith("WFA_API_KEY was rejected")


def test_a_body_that_is_not_json_still_gives_one_line() -> None:
    api = answering(502, {})
    api.errors[("POST", "/workflows/w/trigger")] = httpx.Response(502, text="<html>bad\ngateway")
    result = run(api, "trigger", "w")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "502 bad gateway" in result.stderr


@pytest.mark.parametrize("error", [
    httpx.ConnectError("[Errno 111] Connection refused"),
    httpx.ConnectTimeout("timed out"),
    httpx.ReadTimeout("timed out"),
])
def test_an_unreachable_server_is_one_line(error: httpx.TransportError) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        error.request = request
        raise error

    result = run(httpx.MockTransport(fail), "--url", "http://127.0.0.1:9", "ls")
    assert result.exit_code == 3
    assert result.stderr.startswith("wfa: error: cannot reach the server at http://127.0.0.1:9")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("args", "route"), [
    (["pause", "w"], "POST /workflows/w/pause"),
    (["resume", "w"], "POST /workflows/w/resume"),
    (["retry", "e1", "--from", "fetch"], "POST /executions/e1/retry"),
    (["cancel", "e1"], "POST /executions/e1/cancel"),
    (["signal", "e1", "approve"], "POST /executions/e1/signals/approve"),
])
def test_lifecycle_calls_on_a_server_without_them_say_what_is_missing(
    args: list[str], route: str
) -> None:
    result = run(FakeApi(), *args)
    assert result.exit_code == 3
    [line] = result.stderr.splitlines()
    assert line.startswith("wfa: error: this server cannot ")
    assert route in line and "v2 lifecycle endpoints" in line


def test_not_found_on_an_existing_route_is_not_a_missing_route() -> None:
    result = run(FakeApi(v2=True), "get", "nope")
    assert result.stderr == (
        "wfa: error: 404 not found (GET /workflows/nope): workflow not found\n"
    )


def shedding(times: int, retry_after: str = "1") -> tuple[httpx.MockTransport, list[str]]:
    """A server that sheds the first `times` requests (503 + Retry-After), then answers."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if len(seen) <= times:
            return httpx.Response(503, json={"error": "server overloaded, retry later"},
                                  headers={"Retry-After": retry_after})
        return httpx.Response(200, json={"status": "workflow triggered"})

    return httpx.MockTransport(handle), seen


def test_a_shed_request_is_sent_again_after_the_time_the_server_names() -> None:
    transport, seen = shedding(2, retry_after="2")
    slept: list[float] = []
    api = Api(transport=transport, sleep=slept.append)

    assert api.trigger("w", None) == {"status": "workflow triggered"}
    assert seen == ["POST /workflows/w/trigger"] * 3
    assert slept == [2.0, 2.0]


def test_shedding_that_outlasts_the_retries_is_one_error_line() -> None:
    transport, seen = shedding(SHED_RETRIES + 5, retry_after="60")
    slept: list[float] = []
    api = Api(transport=transport, sleep=slept.append)

    with pytest.raises(ApiError, match=r"^503 service unavailable \(POST /workflows/w/trigger\)"):
        api.trigger("w", None)
    assert len(seen) == SHED_RETRIES + 1
    assert slept == [MAX_RETRY_AFTER_S] * SHED_RETRIES  # a long Retry-After is capped


def test_a_503_without_retry_after_is_not_sent_again() -> None:
    """The database being unreachable is a 503 without Retry-After: the request may have
    had an effect, so it is reported, not repeated."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(503, json={"error": "database unavailable"})

    with pytest.raises(ApiError):
        Api(transport=httpx.MockTransport(handle), sleep=lambda _: None).trigger("w", None)
    assert len(seen) == 1


def test_the_cli_trigger_rides_out_a_shed_answer() -> None:
    transport, seen = shedding(1, retry_after="0")
    result = run(transport, "trigger", "w")
    assert result.exit_code == 0, result.stderr
    assert seen == ["POST /workflows/w/trigger"] * 2
