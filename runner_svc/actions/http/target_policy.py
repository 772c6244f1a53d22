"""Which addresses an http-request action may connect to: a deny-list with an allow-list.

An address is refused when it, or an IPv4 address embedded in it (IPv4-mapped `::ffff:a.b.c.d`,
IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`), lies in a
denied network and not in an allowed one. Host names are resolved once; every answer must pass.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DeniedTarget(Exception):
    """The URL resolves to an address in a denied network."""


def embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (a connection may end up there)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address in IPV4_COMPATIBLE or address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return found


class TargetPolicy:
    """Deny-list minus allow-list, applied to every address a host resolves to."""

    def __init__(self, deny: Sequence[Network], allow: Sequence[Network] = ()) -> None:
        self.deny = list(deny)
        self.allow = list(allow)

    def refusal(self, address: Address) -> str | None:
        """Why `address` may not be called, or None when it may."""
        for candidate in (address, *embedded_ipv4(address)):
            denied = any(candidate in net for net in self.deny)
            if denied and not any(candidate in net for net in self.allow):
                via = f" (embedded in {address})" if candidate != address else ""
                return f"target address {candidate}{via} is in a denied network"
        return None

    def check(self, address: Address) -> None:
        reason = self.refusal(address)
        if reason:
            raise DeniedTarget(reason)

    async def resolve(self, host: str, port: int) -> list[Address]:
        """Every address `host` stands for, each checked; raises DeniedTarget if any is denied.

        Numeric spellings (`0`, `2852039166`, `0x7f.1`) are read as the OS reads them.
        """
        try:
            addresses: list[Address] = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
            addresses = []
            for info in infos:
                address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
                if address not in addresses:
                    addresses.append(address)
        for address in addresses:
            self.check(address)
        return addresses
