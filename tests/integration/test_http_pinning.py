"""DNS rebinding: an http-request action connects to the address its guard checked, on every
redirect hop, with the Host header and the TLS server name (SNI) of the URL kept.

Real servers on 127.0.0.1 (allowed, the "public" answer) and 127.0.0.2 (denied by the default
loopback rule, the "internal" service, same port); a scripted DNS answers a name with 127.0.0.1
first and 127.0.0.2 on every later lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.http.target_policy import TargetPolicy
from shared.actions import HttpRequestAction
from shared.domain.models import ActionResult, ActionResultStatus
from shared.infra.settings import Settings
from tests.fakes.dns import FakeDns
from tests.runners import Runners, runners_fixture  # noqa: F401  (the fixture)
from tests.target_server import TargetServer
from tests.tls_server import TlsServer, self_signed

BOUND_S = 20.0
OK, FAILED = ActionResultStatus.OK, ActionResultStatus.FAILED
SETTINGS = Settings(  # type: ignore[call-arg]
    _env_file=None, http_allow_networks="127.0.0.1/32", http_deny_networks=""
)
REBINDING = ["127.0.0.1", "127.0.0.2"]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[TargetServer, TargetServer]]:
    public = TargetServer("127.0.0.1").start()
    internal = TargetServer("127.0.0.2", port=public.port).start()
    yield public, internal
    internal.stop()
    public.stop()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    return FakeDns().install(monkeypatch)


@pytest.fixture
def runner(runners: Runners) -> ActionDispatcher:
    return runners.from_settings(SETTINGS)


async def run(runner: ActionDispatcher, url: str) -> ActionResult:
    action = HttpRequestAction(action_id=1, url=url, method="GET")
    async with asyncio.timeout(BOUND_S):
        return await runner.run(action)


def internal_hits(internal: TargetServer) -> int:
    return sum(internal.hits.values())


async def test_a_rebinding_name_is_connected_to_at_the_checked_address(
    servers: tuple[TargetServer, TargetServer], dns: FakeDns, runner: ActionDispatcher
) -> None:
    public, internal = servers
    dns.answers["rebind.test"] = list(REBINDING)
    before, internal_before = public.hits["/status/299"], internal_hits(internal)

    result = await run(runner, f"http://rebind.test:{public.port}/status/299")

    assert internal_hits(internal) == internal_before, "the request reached the internal address"
    assert result.status == OK and "[STATUS 299]" in result.logs, result.logs
    assert public.hits["/status/299"] == before + 1
    assert public.requests[-1][1]["host"] == f"rebind.test:{public.port}"  # Host kept
    assert dns.lookups["rebind.test"] == 1  # resolved once: the check is the connect


async def test_every_redirect_hop_is_pinned_too(
    servers: tuple[TargetServer, TargetServer], dns: FakeDns, runner: ActionDispatcher
) -> None:
    public, internal = servers
    dns.answers["hop.test"] = list(REBINDING)
    url = f"{public.url}/redirect-to?url=http://hop.test:{public.port}/status/298"
    internal_before = internal_hits(internal)

    result = await run(runner, url)

    assert internal_hits(internal) == internal_before, "the hop reached the internal address"
    assert result.status == OK and "[STATUS 298]" in result.logs, result.logs
    assert public.requests[-1] == ("/status/298", public.requests[-1][1])
    assert public.requests[-1][1]["host"] == f"hop.test:{public.port}"
    assert dns.lookups["hop.test"] == 1


async def test_a_name_that_resolves_to_a_denied_address_is_refused(
    servers: tuple[TargetServer, TargetServer], dns: FakeDns, runner: ActionDispatcher
) -> None:
    public, internal = servers
    dns.answers["internal.test"] = ["127.0.0.2"]
    url = f"{public.url}/redirect-to?url=http://internal.test:{public.port}/ok"
    before = internal_hits(internal)

    result = await run(runner, url)

    assert result.status == FAILED
    assert "denied: target address 127.0.0.2 is in a denied network" in result.logs
    assert internal_hits(internal) == before


@pytest_asyncio.fixture
async def tls_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TlsServer]:
    cert, key = self_signed(Path(tmp_path_factory.mktemp("tls")), "rebind.test")
    server = await TlsServer(cert, key).start()
    yield server
    await server.stop()


async def test_https_keeps_the_server_name_and_verifies_the_certificate_for_it(
    tls_server: TlsServer, dns: FakeDns, runners: Runners
) -> None:
    dns.answers["rebind.test"] = list(REBINDING)
    trusted = tls_server.client_context()
    url = f"https://rebind.test:{tls_server.port}/x"

    policy = TargetPolicy(SETTINGS.deny_networks(), SETTINGS.allow_networks())
    result = await run(runners.make(policy, verify=trusted), url)
    lookups = dns.lookups["rebind.test"]
    dns.answers["rebind.test"] = ["127.0.0.1"]
    unverified = await run(runners.make(policy), url)  # the system's trust store

    assert result.status == OK, result.logs
    assert result.logs == f"{url} [STATUS 200] => host=rebind.test:{tls_server.port}"
    assert tls_server.sni[0] == "rebind.test"  # SNI is the URL's name, not the pinned address
    assert lookups == 1
    assert unverified.status == FAILED and "CERTIFICATE_VERIFY_FAILED" in unverified.logs


@pytest.mark.parametrize("host", ["127.0.0.2", "[::ffff:127.0.0.2]", "2130706434", "127.2"])
async def test_an_address_literal_in_a_redirect_is_refused(
    servers: tuple[TargetServer, TargetServer], runner: ActionDispatcher, host: str
) -> None:
    # aiohttp resolves no IP literal (its resolver never sees it): the hop is checked anyway.
    public, internal = servers
    url = f"{public.url}/redirect-to?url=http://{host}:{public.port}/ok"
    before = internal_hits(internal)

    result = await run(runner, url)

    assert result.status == FAILED
    assert result.logs.startswith(f"{url} [STATUS 500] => denied: target address 127.0.0.2")
    assert internal_hits(internal) == before


async def test_the_socket_is_checked_even_past_the_check_before_the_request(
    servers: tuple[TargetServer, TargetServer], runner: ActionDispatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without the check of numeric hosts before each hop, the connector's socket factory still
    # refuses the address it was about to connect to.
    async def unchecked(*_: object) -> None:
        return None

    monkeypatch.setattr("runner_svc.actions.http_request.check_numeric_host", unchecked)
    public, internal = servers
    url = f"{public.url}/redirect-to?url=http://127.0.0.2:{public.port}/ok"
    before = internal_hits(internal)

    result = await run(runner, url)

    assert result.logs == (f"{url} [STATUS 500] => denied: target address 127.0.0.2 is in a "
                           "denied network")
    assert internal_hits(internal) == before
