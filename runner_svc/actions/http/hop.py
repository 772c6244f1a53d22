"""One hop of an http-request: its URL checked and parsed, its credentials as Basic auth."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from yarl import URL

SCHEMES = frozenset({"http", "https"})
# The port as written: scheme "://" authority up to its last ":" then digits, then the path.
_PORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*:(\d+)(?:[/?#]|$)")


class InvalidTarget(ValueError):
    """The URL cannot be called: its port, scheme or host."""


@dataclass(frozen=True)
class Hop:
    """The URL to send to (no userinfo) and the Authorization its userinfo stands for."""

    url: URL
    authorization: str | None

    @property
    def host(self) -> str:
        return self.url.raw_host or ""

    @property
    def port(self) -> int:
        return self.url.port or 0


def parse_hop(url: str) -> Hop:
    """`url` parsed; raises InvalidTarget (or ValueError) naming what is wrong with it."""
    written = _PORT.match(url)
    if written and not 0 < int(written.group(1)) <= 65535:
        raise InvalidTarget(f"invalid port {int(written.group(1))}")
    parsed = URL(url)
    if parsed.scheme not in SCHEMES:
        raise InvalidTarget(f"unsupported URL scheme {parsed.scheme!r}")
    if not parsed.raw_host:
        raise InvalidTarget("the URL names no host")
    return Hop(parsed.with_user(None), basic_auth(parsed.user, parsed.password))


def basic_auth(user: str | None, password: str | None) -> str | None:
    """The Basic Authorization value for the URL's userinfo, None without one."""
    if not user and not password:
        return None
    pair = f"{user or ''}:{password or ''}".encode()
    return f"Basic {base64.b64encode(pair).decode()}"
