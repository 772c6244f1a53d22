"""DefaultActionRunners for tests, closed at the end of the test (`runners` fixture)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest_asyncio

from runner_svc.actions import DefaultActionRunner
from runner_svc.target_policy import TargetPolicy
from shared.infra.settings import Settings


class Runners:
    def __init__(self) -> None:
        self._opened: list[DefaultActionRunner] = []

    def make(
        self, policy: TargetPolicy, *, timeout_s: float = 5.0,
        max_response_bytes: int = 1_048_576, max_redirects: int = 5,
        verify: ssl.SSLContext | bool = True,
    ) -> DefaultActionRunner:
        return self._keep(DefaultActionRunner(
            policy=policy, timeout_s=timeout_s, max_response_bytes=max_response_bytes,
            max_redirects=max_redirects, verify=verify,
        ))

    def from_settings(self, settings: Settings) -> DefaultActionRunner:
        """Wired exactly as runner_svc.main wires it."""
        return self._keep(DefaultActionRunner.from_settings(settings))

    def _keep(self, runner: DefaultActionRunner) -> DefaultActionRunner:
        self._opened.append(runner)
        return runner

    async def aclose(self) -> None:
        for runner in self._opened:
            await runner.aclose()


@pytest_asyncio.fixture(name="runners")
async def runners_fixture() -> AsyncIterator[Runners]:
    """`runners`: import `runners_fixture` into a test module to use it."""
    made = Runners()
    yield made
    await made.aclose()
