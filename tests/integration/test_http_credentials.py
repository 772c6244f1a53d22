"""Credentials in action URLs (`http://user:pass@host/`) are used for the request but never
recorded: not in the execution's logs (readable over the API), not in the runner's log lines,
not in the HTTP client's own log records. A real local server checks that they were still sent.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import socket
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from runner_svc.actions.http.target_policy import TargetPolicy
from runner_svc.actions.http_request import CLIENT_LOGGERS
from runner_svc.worker import ExecutionWorker
from shared.actions import HttpRequestAction, LogAction
from shared.domain.models import Action
from tests.fakes import Harness, manual_workflow
from tests.runners import Runners, runners_fixture  # noqa: F401  (the fixture)
from tests.target_server import TargetServer

SECRETS = ("s3cret-pw", "hunter2-pw", "t0ken-pw", "alice", "bob", "carol", "dave")
# The default deny-list (169.254.0.0/16 among it) with the target's address allowed.
POLICY = TargetPolicy([ipaddress.ip_network("169.254.0.0/16")],
                      [ipaddress.ip_network("127.0.0.1/32")])


@pytest.fixture(scope="module")
def target() -> Iterator[TargetServer]:
    server = TargetServer().start()
    yield server
    server.stop()


def http(action_id: int, url: str) -> Action:
    return HttpRequestAction(action_id=action_id, url=url, method="GET")


async def test_credentials_are_sent_but_masked_everywhere_they_are_recorded(
    target: TargetServer, runners: Runners, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(retries=1)
    worker = ExecutionWorker(workflows=h.workflows, executions=h.executions,
                             actions=runners.make(POLICY), clock=h.clock, retries=1)
    hop = f"http://dave:s3cret-pw@127.0.0.1:{target.port}/ok"
    first = f"http://alice:s3cret-pw@127.0.0.1:{target.port}/redirect-to?url={hop}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # closed again: nothing listens there
    refused = f"http://127.0.0.1:{closed_port}/x"
    await h.add(manual_workflow("creds", h.clock).model_copy(update={"actions": [
        http(1, first),
        LogAction(action_id=2, message="see http://bob:hunter2-pw@example.com/"),
        http(3, "http://carol:t0ken-pw@169.254.169.254/latest/meta-data/"),
    ]}))
    await h.add(manual_workflow("creds-refused", h.clock).model_copy(update={"actions": [
        http(1, refused.replace("http://", "http://carol:t0ken-pw@")),
    ]}))
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    before = len(target.requests)

    with capture_logs() as events:
        executions = [await worker.run(await h.trigger(w)) for w in ("creds", "creds-refused")]
        # aiohttp logs no line per request (httpx did, and this test checked it was masked):
        # should it ever name a URL, its client loggers mask it.
        for name in CLIENT_LOGGERS:
            logging.getLogger(name).warning("request to %s failed", first)

    logs = [r.logs for e in executions if e is not None for r in e.executed_actions]
    assert logs[0] == (f"http://***@127.0.0.1:{target.port}/redirect-to?url=http://***@"
                       f"127.0.0.1:{target.port}/ok [STATUS 200] => hello from the target server")
    assert logs[1] == "stdout: see http://***@example.com/"
    assert logs[2].startswith("http://***@169.254.169.254/latest/meta-data/ [STATUS 500] => "
                              "denied: ")
    assert logs[3].startswith(f"http://***@{refused.removeprefix('http://')} [STATUS 500] => ")
    # The credentials were used: Basic auth on each hop, with that hop's own userinfo.
    sent = [headers.get("authorization") for _, headers in target.requests[before:]]
    assert sent == [f"Basic {base64.b64encode(who.encode()).decode()}"
                    for who in ("alice:s3cret-pw", "dave:s3cret-pw")]
    assert {r.name for r in caplog.records} >= set(CLIENT_LOGGERS), "nothing logged: vacuous"
    recorded = [*logs, *(str(e) for e in events), *(r.getMessage() for r in caplog.records)]
    for line in recorded:
        for secret in SECRETS:
            assert secret not in line, f"{secret!r} recorded in {line!r}"
    denied = [e for e in events if e["event"] == "http target denied"]
    assert [e["url"] for e in denied] == ["http://***@169.254.169.254/latest/meta-data/"]
