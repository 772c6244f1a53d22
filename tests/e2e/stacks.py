"""Starting and stopping whole stacks for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import pymongo
import pytest

from tests.harness import Stack

# Every stack alive right now: a failing test gets their log tails in its report.
LIVE_STACKS: list[Stack] = []
# `start_stack(label=..., env=...)`: running_stack with the session's infra bound.
StartStack = Callable[..., AbstractContextManager[Stack]]


@contextmanager
def running_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mongo_url: str,
    kafka_url: str, *, label: str, env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Start a stack; stop it afterwards, printing its logs if a test failed meanwhile."""
    failed_before = request.session.testsfailed
    stack = Stack(mongo_url, kafka_url, workdir=tmp_path_factory.mktemp(label), env=env or {})
    LIVE_STACKS.append(stack)
    try:
        stack.start()
        yield stack
    finally:
        LIVE_STACKS.remove(stack)
        stack.stop()
        _drop_database(mongo_url, stack.database_name)
        if request.session.testsfailed > failed_before:
            reporter = request.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"\n===== logs of stack {label} ({stack.name})")
                reporter.write_line(stack.logs())


def _drop_database(mongo_url: str, name: str) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        mongo_url, serverSelectionTimeoutMS=5000
    )
    with suppress(pymongo.errors.PyMongoError), client:
        client.drop_database(name)
