"""Fixtures and hooks shared by the tiers that run whole stacks (tests/e2e, tests/fault)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.harness import Stack
from tests.target_server import TargetServer


def stack_logs_hook(live: list[Stack]) -> Callable[..., Any]:
    """A `pytest_runtest_makereport` hook: a failing test's report gets the log tails of
    every stack in `live` (a conftest binds it to that name)."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()
        if report.failed and report.when == "call":
            for stack in live:
                report.sections.append((f"stack {stack.name} logs", stack.logs()))

    return pytest_runtest_makereport


@pytest.fixture(scope="session")
def target() -> Iterator[TargetServer]:
    server = TargetServer().start()
    yield server
    server.stop()
