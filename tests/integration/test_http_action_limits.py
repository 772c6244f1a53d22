"""http-request safety limits not covered by test_http_actions.py.

The product's default deny-list (from Settings), IPv4-mapped and numeric spellings of denied
addresses, a connect timeout (a listener whose backlog is full), a body trickled slower than
any per-read timeout, and an ExecutionWorker that fails a denied action cleanly and goes on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from structlog.testing import capture_logs

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.http.target_policy import Network, TargetPolicy
from runner_svc.worker import ExecutionWorker
from shared.actions import HttpRequestAction, LogAction
from shared.domain.models import (
    ActionResult,
    ActionResultStatus,
    ExecutionStatus,
    WorkflowStatus,
)
from shared.infra.settings import Settings
from tests.fakes import Harness, manual_workflow
from tests.runners import Runners, runners_fixture  # noqa: F401  (the fixture)
from tests.target_server import TargetServer

BOUND_S = 20.0  # every action here must end well within this
OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED
# The product's defaults, whatever the environment of the test run says.
DEFAULTS = Settings(  # type: ignore[call-arg]
    _env_file=None, http_deny_networks="", http_allow_networks=""
)


@pytest.fixture(scope="module")
def target() -> Iterator[TargetServer]:
    server = TargetServer().start()
    yield server
    server.stop()


def make_runner(
    runners: Runners, *, deny: list[Network] | None = None, timeout_s: float = 5.0,
    allow: list[Network] | None = None,
) -> ActionDispatcher:
    """Wired as runner_svc.main does, with the default deny-list unless told otherwise."""
    policy = TargetPolicy(DEFAULTS.deny_networks() if deny is None else deny, allow or [])
    return runners.make(
        policy, timeout_s=timeout_s, max_response_bytes=DEFAULTS.http_max_response_bytes,
        max_redirects=DEFAULTS.http_max_redirects,
    )


async def run(runner: ActionDispatcher, url: str) -> ActionResult:
    action = HttpRequestAction(action_id=3, url=url, method="GET")
    async with asyncio.timeout(BOUND_S):
        return await runner.run(action)


def denial_events(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == "http target denied"]


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("https://169.254.0.1:8443/x", "169.254.0.1"),
        ("http://[fe80::1]/", "fe80::1"),
        ("http://[febf:ffff::1]:8080/", "febf:ffff::1"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"),
        ("http://2852039166/latest/", "169.254.169.254"),  # decimal spelling
        ("http://0xa9fea9fe/latest/", "169.254.169.254"),  # hex spelling
        ("http://[::ffff:169.254.169.254]/latest/", "169.254.169.254"),  # IPv4-mapped
    ],
)
async def test_default_deny_list_blocks_link_local_and_metadata_targets(
    runners: Runners, url: str, address: str
) -> None:
    with capture_logs() as logs:
        result = await run(make_runner(runners), url)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => denied: ")
    assert address in result.logs
    events = denial_events(logs)
    assert len(events) == 1
    assert events[0]["url"] == url and address in events[0]["reason"]
    assert events[0]["log_level"] == "warning"


async def test_default_deny_list_with_the_target_allowed_reaches_it(
    runners: Runners, target: TargetServer
) -> None:
    url = f"{target.url}/ok"

    result = await run(make_runner(runners, allow=[ipaddress.ip_network("127.0.0.1/32")]), url)

    assert result.status == OK, result.logs
    assert result.logs.startswith(f"{url} [STATUS 200] => ")


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"])
async def test_every_spelling_of_a_denied_address_is_refused_before_connecting(
    runners: Runners, target: TargetServer, host: str
) -> None:
    before = target.hits["/status/299"]
    url = f"http://{host}:{target.port}/status/299"
    runner = make_runner(runners, deny=[ipaddress.ip_network("127.0.0.0/8")])

    result = await run(runner, url)

    assert result.status == FAILED
    assert "denied" in result.logs
    assert target.hits["/status/299"] == before, "the denied target was contacted"


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A listener whose backlog is full: the kernel drops new SYNs, so connects hang."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        while True:  # fill the backlog until a connect no longer completes
            assert len(fillers) < 64, "could not fill the listen backlog"
            filler = socket.socket()
            fillers.append(filler)
            filler.settimeout(0.5)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


async def test_connect_timeout_fails_the_action(
    runners: Runners, unanswered_port: int
) -> None:
    url = f"http://127.0.0.1:{unanswered_port}/never"

    result = await run(make_runner(runners, deny=[], timeout_s=0.5), url)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => ")
    assert "timed out" in result.logs or "Timeout" in result.logs


@pytest_asyncio.fixture
async def trickle_url() -> AsyncIterator[str]:
    """A server that sends its headers, then one body byte every 50 ms, for ~14 hours."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        try:
            for _ in range(1_000_000):
                writer.write(b"t")
                await writer.drain()
                await asyncio.sleep(0.05)  # the server's pace, not a test synchronisation
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/trickle"
    finally:
        server.close()


async def test_body_trickled_below_any_read_timeout_is_cut_by_the_action_timeout(
    runners: Runners, trickle_url: str
) -> None:
    # Every byte arrives well within the client's per-read timeout (5 s); only a deadline on the
    # whole request ends it.
    result = await run(make_runner(runners, deny=[], timeout_s=0.5), trickle_url)

    assert result.status == FAILED
    assert result.logs == f"{trickle_url} [STATUS 500] => timed out after 0.5s"


async def test_denied_target_fails_its_execution_and_the_worker_goes_on(
    runners: Runners, target: TargetServer
) -> None:
    h = Harness(retries=1)
    worker = ExecutionWorker(
        workflows=h.workflows, executions=h.executions,
        actions=make_runner(runners, allow=[ipaddress.ip_network("127.0.0.1/32")]),
        clock=h.clock, retries=1,
    )
    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    await h.add(manual_workflow("steal", h.clock).model_copy(update={"actions": [
        LogAction(action_id=1, message="before"),
        HttpRequestAction(action_id=2, url=metadata, method="GET"),
        LogAction(action_id=3, message="never reached"),
    ]}))
    await h.add(manual_workflow("next", h.clock).model_copy(update={"actions": [
        HttpRequestAction(action_id=1, url=f"{target.url}/ok", method="GET"),
    ]}))
    hits_before = target.hits["/ok"]

    with capture_logs() as logs:
        denied = await worker.run(await h.trigger("steal"))
        following = await worker.run(await h.trigger("next"))

    assert denied is not None and denied.status == ExecutionStatus.FAILED
    assert [(r.action_id, r.status) for r in denied.executed_actions] == [(1, OK), (2, FAILED)]
    assert denied.executed_actions[1].logs.startswith(f"{metadata} [STATUS 500] => denied: ")
    assert denied.last_failed_action == 2
    assert [e["url"] for e in denial_events(logs)] == [metadata]
    assert following is not None and following.status == ExecutionStatus.OK
    assert target.hits["/ok"] == hits_before + 1
    for workflow_id in ("steal", "next"):
        released = await h.workflows.get(workflow_id)
        assert released is not None
        assert (released.status, released.lock) == (WorkflowStatus.ACTIVE, None)
    again = await worker.run(await h.trigger("steal"))  # not stuck: it can run again
    assert again is not None and again.status == ExecutionStatus.FAILED
