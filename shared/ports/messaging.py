"""Messaging roles: the request publisher, the message source, dead letters, next-run watch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.domain.models import (
    ExecutionRequest,
)


class ExecutionRequestPublisher(Protocol):
    async def publish(self, request: ExecutionRequest) -> None:
        """Produce and wait for the broker's acknowledgement."""
        ...

    async def publish_many(self, requests: Sequence[ExecutionRequest]) -> list[bool]:
        """Produce all, wait for every ack; per request whether it was acknowledged."""
        ...


@dataclass(frozen=True, slots=True)
class ConsumedMessage:
    """One record as the runner's consumer loop sees it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()  # e.g. the W3C trace context


class MessageSource(Protocol):
    """A consumer-group member: fetches records and commits processed offsets."""

    async def fetch(self, *, timeout_s: float, max_records: int) -> list[ConsumedMessage]: ...

    async def commit(self, offsets: dict[int, int]) -> None:
        """Commit, per partition, the offset of the next record to read."""
        ...


class DeadLetterSink(Protocol):
    """Where the runner keeps records it cannot decode (a dead-letter topic)."""

    async def send(self, message: ConsumedMessage, reason: str, detail: str) -> None:
        """Store the record unchanged with why; raise `Unavailable` if it was not stored."""
        ...


class NextRunWatch(Protocol):
    """Reports every `trigger.next_run` written to the workflows (e.g. a change stream)."""

    async def run(self, on_next_run: Callable[[datetime], None]) -> None:
        """Call `on_next_run` for each one until `stop()`; return if the source is absent."""
        ...

    def stop(self) -> None:
        """Make `run` return soon, without cancelling what it awaits."""
        ...
