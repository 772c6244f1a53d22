"""The http-request client's guards, one at a time: the resolver, the socket factory (the exact
address of every socket), numeric spellings checked before a request, and each hop's URL."""

from __future__ import annotations

import base64
import ipaddress
import socket

import pytest

from runner_svc.actions.http.hop import InvalidTarget, parse_hop
from runner_svc.actions.http.pinned_connector import (
    PinnedResolver,
    PinnedSockets,
    check_numeric_host,
)
from runner_svc.actions.http.target_policy import DeniedTarget, TargetPolicy
from tests.fakes.dns import FakeDns

LOOPBACK_DENIED = TargetPolicy([ipaddress.ip_network("127.0.0.0/8")],
                               [ipaddress.ip_network("127.0.0.1/32")])


def addr_info(host: str, port: int = 80) -> tuple[int, int, int, str, tuple[object, ...]]:
    if ":" in host:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))


@pytest.fixture
def sockets_made(monkeypatch: pytest.MonkeyPatch) -> list[socket.socket]:
    made: list[socket.socket] = []
    real = socket.socket

    def recording(*args: object) -> socket.socket:
        sock = real(*args)  # type: ignore[call-overload]
        made.append(sock)
        return sock

    monkeypatch.setattr(socket, "socket", recording)
    return made


@pytest.mark.parametrize("host", ["127.0.0.2", "::ffff:127.0.0.2", "::ffff:7f00:2", "::1"])
def test_the_socket_factory_makes_no_socket_for_a_denied_address(
    sockets_made: list[socket.socket], host: str
) -> None:
    policy = TargetPolicy([*LOOPBACK_DENIED.deny, ipaddress.ip_network("::1/128")],
                          LOOPBACK_DENIED.allow)
    with pytest.raises(DeniedTarget, match="is in a denied network"):
        PinnedSockets(policy)(addr_info(host))  # type: ignore[arg-type]
    assert sockets_made == []


def test_the_socket_factory_makes_a_socket_for_an_allowed_address(
    sockets_made: list[socket.socket],
) -> None:
    sock = PinnedSockets(LOOPBACK_DENIED)(addr_info("127.0.0.1"))  # type: ignore[arg-type]
    try:
        assert sockets_made == [sock] and sock.family == socket.AF_INET
    finally:
        sock.close()


def test_the_socket_factory_refuses_other_address_families(
    sockets_made: list[socket.socket],
) -> None:
    unix = (socket.AF_UNIX, socket.SOCK_STREAM, 0, "", "/run/docker.sock")
    with pytest.raises(DeniedTarget, match="not a target"):
        PinnedSockets(TargetPolicy([]))(unix)  # type: ignore[arg-type]
    assert sockets_made == []


async def test_the_resolver_refuses_a_name_with_any_denied_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = FakeDns().install(monkeypatch)
    dns.answers["mixed.test"] = ["127.0.0.2"]
    dns.answers["fine.test"] = ["127.0.0.1"]
    resolver = PinnedResolver(LOOPBACK_DENIED)

    with pytest.raises(DeniedTarget, match="127.0.0.2"):
        await resolver.resolve("mixed.test", 80)
    answers = await resolver.resolve("fine.test", 8080)

    assert [(a["hostname"], a["host"], a["port"], a["family"]) for a in answers] == [
        ("fine.test", "127.0.0.1", 8080, socket.AF_INET)]
    assert dns.lookups == {"mixed.test": 1, "fine.test": 1}


@pytest.mark.parametrize(("host", "address"), [
    ("2130706434", "127.0.0.2"), ("127.2", "127.0.0.2"), ("0", "0.0.0.0"),
    ("::ffff:127.0.0.2", "127.0.0.2"),
])
async def test_numeric_spellings_are_checked_before_the_request(host: str, address: str) -> None:
    policy = TargetPolicy([ipaddress.ip_network("127.0.0.0/8"),
                           ipaddress.ip_network("0.0.0.0/8")])
    with pytest.raises(DeniedTarget, match=address):
        await check_numeric_host(policy, host, 80)


async def test_names_are_left_to_the_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    dns = FakeDns().install(monkeypatch)
    dns.answers["internal.test"] = ["127.0.0.2"]

    await check_numeric_host(LOOPBACK_DENIED, "internal.test", 80)

    assert dns.lookups["internal.test"] == 0  # one lookup per connection: the connector's


def test_a_hop_sends_its_userinfo_as_basic_auth_and_not_in_the_url() -> None:
    hop = parse_hop("http://al%40ice:pa%3Ass@example.com:8080/p?q=1")

    assert str(hop.url) == "http://example.com:8080/p?q=1"
    assert (hop.host, hop.port) == ("example.com", 8080)
    assert hop.authorization == "Basic " + base64.b64encode(b"al@ice:pa:ss").decode()
    assert parse_hop("https://example.com/").authorization is None


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:99999/", "invalid port 99999"),
    ("http://[::1]:65536/x", "invalid port 65536"),
    ("http://h:0/", "invalid port 0"),
    ("ftp://example.com/", "unsupported URL scheme 'ftp'"),
    ("http+unix://%2Frun%2Fdocker.sock/info", "unsupported URL scheme 'http+unix'"),
])
def test_unusable_hops_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(InvalidTarget) as refused:
        parse_hop(url)
    assert str(refused.value) == reason
