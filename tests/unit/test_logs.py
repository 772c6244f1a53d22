"""Log lines: repeated library messages are rate-limited."""

from __future__ import annotations

import logging

from shared.logs import RepeatFilter


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
