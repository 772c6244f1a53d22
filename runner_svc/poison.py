"""Records that cannot be decoded: counted by reason, logged once, dead-lettered, skipped."""

from __future__ import annotations

import asyncio

from shared.domain.codec import PoisonMessage, decode_request
from shared.domain.models import ExecutionRequest
from shared.infra.logs import get_logger
from shared.infra.metrics import CONSUMER_ERRORS, DEAD_LETTERS
from shared.ports import ConsumedMessage, DeadLetterSink

log = get_logger(__name__)


def decode(message: ConsumedMessage) -> ExecutionRequest | PoisonMessage:
    """The request of a record, or why there is none; never raises."""
    try:
        return decode_request(message.value)
    except PoisonMessage as poison:
        return poison
    except Exception as exc:  # a decode failure nobody foresaw is poison as well
        return PoisonMessage("undecodable", repr(exc)[:200])


class PoisonHandler:
    """Counts, logs and (with a sink) dead-letters a poison record before it is skipped.

    A record is committed only once it is in the dead-letter topic: while the sink fails,
    the write is retried with a capped backoff (the record's key waits, other keys go on),
    and a runner stopped meanwhile leaves it uncommitted, to be read again.
    """

    def __init__(
        self, sink: DeadLetterSink | None = None, *, topic: str | None = None,
        retry_initial_s: float = 0.2, retry_max_s: float = 5.0,
    ) -> None:
        self._sink = sink
        self._topic = topic
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s

    async def __call__(self, message: ConsumedMessage, poison: PoisonMessage) -> None:
        CONSUMER_ERRORS.labels(poison.reason).inc()
        detail = str(poison)[:200]
        log.warning("poison message skipped", partition=message.partition,
                    offset=message.offset, reason=poison.reason, detail=detail,
                    dead_letter_topic=self._topic if self._sink else None)
        if self._sink is not None:
            await self._dead_letter(self._sink, message, poison.reason, detail)

    async def _dead_letter(
        self, sink: DeadLetterSink, message: ConsumedMessage, reason: str, detail: str
    ) -> None:
        delay_s = self._retry_initial_s
        failures = 0
        while True:
            try:
                await sink.send(message, reason, detail)
            except Exception as exc:
                DEAD_LETTERS.labels("failed").inc()
                if failures == 0:
                    log.warning("dead-letter write failed; retrying", error=repr(exc),
                                partition=message.partition, offset=message.offset)
                failures += 1
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, self._retry_max_s)
                continue
            DEAD_LETTERS.labels("sent").inc()
            return
