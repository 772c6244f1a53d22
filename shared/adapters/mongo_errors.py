"""PyMongo's errors of an unreachable or failing-over database, raised as `Unavailable`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

from shared.domain.errors import Unavailable

MESSAGE = "database unavailable, try again"
# ConnectionFailure covers AutoReconnect, NetworkTimeout, NotPrimaryError,
# ServerSelectionTimeoutError and WaitQueueTimeoutError.
_TRANSIENT_TYPES = (ConnectionFailure, ExecutionTimeout, WTimeoutError)
_TRANSIENT_LABELS = ("RetryableWriteError", "TransientTransactionError")
# Server codes of a node that is shutting down, stepping down or unreachable (the retryable
# writes spec's list).
_TRANSIENT_CODES = frozenset({
    6, 7, 89, 91, 134, 189, 262, 9001, 10058, 10107, 11600, 11602, 13435, 13436,
})
C = TypeVar("C", bound=type)


def is_transient(exc: PyMongoError) -> bool:
    """Whether `exc` says the database cannot answer right now (not that the call is wrong)."""
    if isinstance(exc, _TRANSIENT_TYPES) or exc.timeout:
        return True
    if any(exc.has_error_label(label) for label in _TRANSIENT_LABELS):
        return True
    return isinstance(exc, OperationFailure) and exc.code in _TRANSIENT_CODES


@contextmanager
def unavailable_on_outage() -> Iterator[None]:
    """Re-raise a transient PyMongo error as `Unavailable` (the cause chained)."""
    try:
        yield
    except PyMongoError as exc:
        if not is_transient(exc):
            raise
        raise Unavailable(MESSAGE) from exc


def raises_unavailable(cls: C) -> C:
    """Class decorator: every coroutine method (inherited ones too) raises `Unavailable`."""
    for name in dir(cls):
        method = getattr(cls, name)
        if not name.startswith("__") and inspect.iscoroutinefunction(method):
            setattr(cls, name, _guarded(method))
    return cls


def _guarded(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        with unavailable_on_outage():
            return await method(*args, **kwargs)

    return guarded
