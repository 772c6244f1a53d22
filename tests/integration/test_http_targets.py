"""Where an http-request action may connect: the default deny-list and its allow-list, wired
as runner_svc.main wires them, against a real local server (DNS rebinding: test_http_pinning).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from runner_svc.actions import ActionDispatcher
from shared.actions import HttpRequestAction
from shared.domain.models import ActionResult, ActionResultStatus
from shared.infra.settings import Settings
from tests.runners import Runners, runners_fixture  # noqa: F401  (the fixture)
from tests.target_server import TargetServer

BOUND_S = 20.0
OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED


def settings(*, allow: str = "", deny: str = "") -> Settings:
    """The product's defaults whatever the environment says, with these two lists."""
    return Settings(_env_file=None, http_allow_networks=allow,  # type: ignore[call-arg]
                    http_deny_networks=deny)


@pytest.fixture(scope="module")
def target() -> Iterator[TargetServer]:
    server = TargetServer().start()
    yield server
    server.stop()


async def run(runner: ActionDispatcher, url: str) -> ActionResult:
    action = HttpRequestAction(action_id=1, url=url, method="GET")
    async with asyncio.timeout(BOUND_S):
        return await runner.run(action)


# Every way of writing "this host" that reached the target server behind a loopback-only deny
# list, and the runner's own ports on loopback.
THIS_HOST = ["127.0.0.1", "0.0.0.0", "0", "[::ffff:0.0.0.0]", "[::ffff:127.0.0.1]", "127.1",
             "0x7f000001", "localhost", "[::]", "[::1]"]


@pytest.mark.parametrize("host", THIS_HOST)
async def test_default_settings_refuse_this_host_in_every_spelling(
    runners: Runners, target: TargetServer, host: str
) -> None:
    before = sum(target.hits.values())
    url = f"http://{host}:{target.port}/status/299"

    result = await run(runners.from_settings(settings()), url)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => denied: "), result.logs
    assert sum(target.hits.values()) == before, "the target server was contacted"


async def test_the_allow_list_opens_only_what_it_lists(
    runners: Runners, target: TargetServer
) -> None:
    runner = runners.from_settings(settings(allow="127.0.0.1/32"))
    before = target.hits["/status/299"]

    allowed = await run(runner, f"{target.url}/status/299")
    still_denied = [await run(runner, f"http://{host}:{target.port}/status/299")
                    for host in ("0.0.0.0", "0", "[::ffff:0.0.0.0]", "127.0.0.2")]

    assert allowed.status == OK, allowed.logs
    assert target.hits["/status/299"] == before + 1
    for result in still_denied:
        assert result.status == FAILED and "denied" in result.logs, result.logs


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/", "http://[::1/", "ftp://x/"])
async def test_a_redirect_to_an_unusable_url_fails_the_action(
    runners: Runners, target: TargetServer, location: str
) -> None:
    # Found on the way: httpx.InvalidURL is no httpx.HTTPError, so it escaped the action and
    # the worker took it for an interrupted attempt.
    url = f"{target.url}/redirect-to?url={location}"

    result = await run(runners.from_settings(settings(allow="127.0.0.1/32")), url)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => "), result.logs


async def test_a_port_past_65535_fails_the_action(runners: Runners) -> None:
    url = "http://127.0.0.1:99999/"  # the API's URL pattern takes any 5 digits

    result = await run(runners.from_settings(settings(allow="127.0.0.1/32")), url)

    assert result.logs == f"{url} [STATUS 500] => invalid port 99999"
