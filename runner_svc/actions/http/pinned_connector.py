"""An aiohttp connector that connects only to addresses the target policy has just checked.

Checking a URL's host and then letting the client resolve it again when it connects leaves a
window for DNS rebinding (a hostile DNS server answers an allowed address to the check and an
internal one to the connect). Here the check *is* the connect, twice over:

- the connector's resolver is the policy: a name is resolved once per connection (no DNS
  cache), refused if any answer is denied, and only the checked answers are connected to;
- its socket factory sees the exact address of every socket it creates, before the connect,
  and refuses a denied one (aiohttp resolves no IP literal: it connects to it as written).

Numeric spellings aiohttp takes for addresses but does not connect to (`2852039166`, `127.1`)
are checked by `check_numeric_host` before the request, so they are refused as denied too.
aiohttp keeps the URL's host for the Host header, the TLS server name (SNI) and certificate
verification, and keys its pool by it, so a pooled connection is one checked when opened.
Every redirect hop is a new request, so it goes through the same connector.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

import aiohttp
import certifi
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult

from runner_svc.actions.http.target_policy import Address, DeniedTarget, TargetPolicy

INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)
KEEPALIVE_S = 5.0  # idle pooled connections are closed after this (httpx's default expiry)


class PinnedResolver(AbstractResolver):
    """Resolve through the policy: every answer checked, any denied one refuses the name."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._policy.resolve(host, port)
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        """Nothing to release."""


def _result(host: str, address: Address, port: int) -> ResolveResult:
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    return ResolveResult(hostname=host, host=str(address), port=port, family=family, proto=0,
                         flags=socket.AI_NUMERICHOST)


class PinnedSockets:
    """The connector's socket factory: a socket only for a TCP/IP address the policy allows."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy

    def __call__(self, addr_info: AddrInfoType) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        if family not in INET_FAMILIES:
            raise DeniedTarget(f"address family {family!r} is not a target")
        self._policy.check(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]))
        return socket.socket(family, kind, proto)


def looks_numeric(host: str) -> bool:
    """Whether aiohttp takes `host` for an address and resolves no name for it."""
    return ":" in host or host.replace(".", "").isdigit()


async def check_numeric_host(policy: TargetPolicy, host: str, port: int) -> None:
    """Raise DeniedTarget if `host` is an address (in any spelling the OS reads) denied."""
    if looks_numeric(host):
        await policy.resolve(host, port)  # no DNS: numeric spellings are read, not looked up


def client_ssl_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The context given, or one verifying certificates against certifi's CAs (as httpx did)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    context = ssl.create_default_context(cafile=certifi.where())
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def pinned_connector(
    policy: TargetPolicy, *, ssl_context: ssl.SSLContext, max_connections: int
) -> aiohttp.TCPConnector:
    """A TCPConnector whose every connection goes through the policy (call inside the loop)."""
    return aiohttp.TCPConnector(
        resolver=PinnedResolver(policy), use_dns_cache=False, socket_factory=PinnedSockets(policy),
        ssl=ssl_context, limit=max_connections, keepalive_timeout=KEEPALIVE_S,
        happy_eyeballs_delay=None,  # one address at a time: a refusal ends the connect
    )
