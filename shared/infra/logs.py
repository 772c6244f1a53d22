"""Structured JSON logging with the service name bound on every line."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict

from shared.infra.metrics import LOG_LINES_SUPPRESSED

_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
MAX_KEYS = 1000

RepeatKey = tuple[str, str, str | None]


def _repeat_key(record: logging.LogRecord) -> RepeatKey:
    """Logger, rendered message and exception type: what makes two lines "the same"."""
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the template
        message = str(record.msg)
    exc_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
    return record.name, message[:500], exc_type


class RepeatFilter(logging.Filter):
    """Lets the same line (logger, message, exception type) through once per `window_s`.

    While a broker is down, aiokafka logs the same reconnect error thousands of times a
    second; one line now and then says as much. What is dropped is counted in
    `log_lines_suppressed_total{logger}`, and the next line let through carries
    `suppressed`: how many of it were dropped since the last one.
    """

    def __init__(
        self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._window_s = window_s
        self._clock = clock
        self._last: dict[RepeatKey, float] = {}
        self._dropped: dict[RepeatKey, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = _repeat_key(record)
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._window_s:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            LOG_LINES_SUPPRESSED.labels(record.name).inc()
            return False
        if len(self._last) >= MAX_KEYS:
            self._forget(now)
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            record.suppressed = dropped
        return True

    def _forget(self, now: float) -> None:
        """Bound the memory: drop keys whose window is over (all of them if none is)."""
        expired = [k for k, at in self._last.items() if now - at >= self._window_s]
        for key in expired or list(self._last):
            del self._last[key]
            self._dropped.pop(key, None)


def _add_suppressed(_: Any, __: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    dropped = getattr(record, "suppressed", None)
    if dropped:
        event["suppressed"] = dropped
    return event


def json_handler(stream: TextIO) -> logging.Handler:
    """The handler of stdlib (library) records: JSON lines on `stream`, repeats limited.

    An exception a library logs is rendered as its traceback text (`exception`), as ours is.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name, _add_suppressed],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    ))
    handler.addFilter(RepeatFilter())
    return handler


def configure_logging(service: str, level: str = "info") -> None:
    """JSON lines on stdout for our logs and the libraries' alike.

    `workflow_id` / `execution_id` come from contextvars bound where they are known.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    handler = json_handler(sys.stdout)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for noisy in ("aiokafka", "kafka", "pymongo", "httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
