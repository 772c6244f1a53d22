"""Log lines: library tracebacks rendered; repeated library messages rate-limited."""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid

from prometheus_client import REGISTRY

from shared.infra.logs import RepeatFilter, json_handler


def _record(msg: str, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)


def test_repeat_filter_passes_the_first_of_a_burst_and_other_messages() -> None:
    repeat = RepeatFilter(window_s=60)

    passed = [repeat.filter(_record("Unable connect to node %s")) for _ in range(1000)]

    assert passed.count(True) == 1
    assert repeat.filter(_record("another message"))
    assert repeat.filter(_record("Unable connect to node %s", name="other.logger"))


def test_repeat_filter_lets_a_message_through_again_after_the_window() -> None:
    repeat = RepeatFilter(window_s=0)

    assert repeat.filter(_record("x"))
    assert repeat.filter(_record("x"))


# --- issue 13, #11: library tracebacks rendered; repeats keyed by message and exception ---


class Ticks:
    """A hand-driven monotonic clock for the filter."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _failed(msg: str, exc: BaseException, *args: object) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, msg, args or None, info)


def suppressed(logger: str) -> float:
    return REGISTRY.get_sample_value("log_lines_suppressed_total", {"logger": logger}) or 0.0


def library_logger(stream: io.StringIO) -> logging.Logger:
    """A stdlib logger writing through the services' JSON handler into `stream`."""
    logger = logging.getLogger(f"some.library.{uuid.uuid4().hex[:6]}")
    logger.propagate = False
    logger.handlers[:] = [json_handler(stream)]
    return logger


def test_a_library_exception_is_rendered_as_a_traceback_in_its_json_line() -> None:
    stream = io.StringIO()
    logger = library_logger(stream)
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError:
        logger.exception("fetch failed for %s", "node-1")

    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["event"] == "fetch failed for node-1"
    assert line["level"] == "error"
    assert "exc_info" not in line, line["exc_info"]
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].rstrip().endswith("ConnectionResetError: peer went away")
    assert line["logger"] == logger.name


def test_same_template_different_exception_types_are_both_logged() -> None:
    repeat = RepeatFilter(window_s=60, clock=Ticks())

    assert repeat.filter(_failed("request failed", TimeoutError("t")))
    assert repeat.filter(_failed("request failed", ConnectionError("c")))
    assert not repeat.filter(_failed("request failed", TimeoutError("again")))


def test_same_template_different_arguments_are_both_logged() -> None:
    repeat = RepeatFilter(window_s=60, clock=Ticks())

    assert repeat.filter(_failed("node %s unreachable", OSError("x"), "1"))
    assert repeat.filter(_failed("node %s unreachable", OSError("x"), "2"))
    assert not repeat.filter(_failed("node %s unreachable", OSError("x"), "2"))


def test_dropped_repeats_are_counted_and_reported_by_the_next_line() -> None:
    ticks = Ticks()
    repeat = RepeatFilter(window_s=10, clock=ticks)
    before = suppressed("aiokafka")

    assert repeat.filter(_failed("broker down", OSError("x")))
    dropped = [repeat.filter(_failed("broker down", OSError("x"))) for _ in range(7)]
    ticks.now = 10.0
    next_line = _failed("broker down", OSError("x"))

    assert dropped == [False] * 7
    assert suppressed("aiokafka") == before + 7
    assert repeat.filter(next_line)
    assert next_line.suppressed == 7  # type: ignore[attr-defined]
    stream = io.StringIO()
    handler = json_handler(stream)
    handler.handle(next_line)
    assert json.loads(stream.getvalue())["suppressed"] == 7
