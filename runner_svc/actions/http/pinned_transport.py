"""An httpx transport that connects only to addresses the target policy has just checked.

Checking a URL's host and then letting the client resolve it again when it connects leaves a
window for DNS rebinding (a hostile DNS server answers an allowed address to the check and an
internal one to the connect). Here the check *is* the connect: httpcore asks the network backend
for a connection to (host, port); the backend resolves the host once, refuses it if any answer
is denied, and connects to a checked address. httpcore keeps the URL's host for the Host header,
the TLS server name (SNI) and certificate verification, and keys its pool by it, so a pooled
connection is one that was checked when it was opened. Every redirect hop is a new request, so
it goes through the same backend.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from runner_svc.actions.http.target_policy import DeniedTarget, TargetPolicy

# httpcore's SOCKET_OPTION (not exported).
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolve once, check every answer, connect to a checked address."""

    def __init__(
        self, policy: TargetPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(  # the signature is httpcore's
        self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None, socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if not 0 < port <= 65535:  # URLs take any 5 digits; connect() would raise OverflowError
            raise httpcore.ConnectError(f"invalid port {port}")
        try:
            addresses = await self._policy.resolve(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next checked address, as a resolver-driven connect would
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DeniedTarget("unix sockets are not a target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request/response mapping, error mapping) over a pool whose
    connections all go through a PinnedBackend."""

    def __init__(
        self, policy: TargetPolicy, *, limits: httpx.Limits,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=context, limits=limits, trust_env=False)
        # httpx 0.28 takes no network backend (encode/httpx#3749): replace the pool it built.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(policy),
        )
