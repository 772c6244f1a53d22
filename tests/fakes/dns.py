"""A stand-in DNS for chosen names: `socket.getaddrinfo` answers from a script, other names as
usual. The event loop's `getaddrinfo` (so httpx, anyio and the runner's guard) calls it."""

from __future__ import annotations

import socket
from collections import Counter
from typing import Any

import pytest


class FakeDns:
    """`answers["rebind.test"] = ["127.0.0.1", "127.0.0.2"]`: the first lookup gets 127.0.0.1,
    every later one 127.0.0.2 (a rebinding DNS server). `lookups` counts them per name."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: Counter[str] = Counter()
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        script = self.answers.get(name)
        if script is None:
            return self._real(host, port, *args, **kwargs)
        self.lookups[name] += 1
        address = script.pop(0) if len(script) > 1 else script[0]
        return self._real(address, port, *args, **kwargs)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeDns:
        monkeypatch.setattr(socket, "getaddrinfo", self)
        return self
