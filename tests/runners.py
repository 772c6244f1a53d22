"""Action runners for tests, closed at the end of the test (`runners` fixture)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest_asyncio

from runner_svc.actions import ActionDispatcher
from runner_svc.actions.http.target_policy import TargetPolicy
from runner_svc.actions.http_request import HttpRequestHandler
from runner_svc.main import action_dispatcher
from shared.infra.settings import Settings


class Runners:
    """Dispatchers over every kind, as runner_svc.main builds them, with their HTTP handler."""

    def __init__(self) -> None:
        self._opened: list[HttpRequestHandler] = []

    def make(
        self, policy: TargetPolicy, *, timeout_s: float = 5.0,
        max_response_bytes: int = 1_048_576, max_redirects: int = 5,
        verify: ssl.SSLContext | bool = True,
    ) -> ActionDispatcher:
        return self._keep(HttpRequestHandler(
            policy=policy, timeout_s=timeout_s, max_response_bytes=max_response_bytes,
            max_redirects=max_redirects, verify=verify,
        ))

    def from_settings(self, settings: Settings) -> ActionDispatcher:
        """Wired exactly as runner_svc.main wires it."""
        return self._keep(HttpRequestHandler.from_settings(settings))

    def _keep(self, http: HttpRequestHandler) -> ActionDispatcher:
        self._opened.append(http)
        return action_dispatcher(http)

    async def aclose(self) -> None:
        for http in self._opened:
            await http.aclose()


@pytest_asyncio.fixture(name="runners")
async def runners_fixture() -> AsyncIterator[Runners]:
    """`runners`: import `runners_fixture` into a test module to use it."""
    made = Runners()
    yield made
    await made.aclose()
