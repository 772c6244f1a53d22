"""The `kafka-publish` kind's handler: produces the rendered record (acks from all ISRs)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from runner_svc.actions.base import action_result
from shared.actions import KafkaPublishAction
from shared.actions.kafka_publish import topic_allowed
from shared.domain.models import ActionResult
from shared.domain.run_context import RunContext
from shared.domain.templating import TemplateError
from shared.infra.settings import Settings


class RecordProducer(Protocol):
    """Produces one record and waits for its acknowledgement (acks=all)."""

    async def send_and_wait(
        self, topic: str, value: bytes, *, key: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any: ...


class KafkaPublishHandler:
    """Runs `kafka-publish` actions; refuses a topic the runner's settings do not allow."""

    def __init__(
        self, producer: RecordProducer, *, allowed: tuple[str, ...],
        reserved: frozenset[str], timeout_s: float = 5.0,
    ) -> None:
        self._producer = producer
        self._allowed = allowed
        self._reserved = reserved
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, producer: RecordProducer, settings: Settings) -> KafkaPublishHandler:
        allowed = tuple(p.strip() for p in settings.kafka_publish_allowed.split(",") if p.strip())
        return cls(producer, allowed=allowed, reserved=settings.reserved_topics(),
                   timeout_s=settings.kafka_send_timeout_s)

    async def run(self, action: KafkaPublishAction, context: RunContext) -> ActionResult:
        topic = action.topic
        if not topic_allowed(topic, self._allowed, self._reserved):
            return action_result(action, False, f"kafka {topic} => refused: topic not allowed "
                                                "(KAFKA_PUBLISH_ALLOWED)")
        try:
            key = context.render(action.key).value if action.key is not None else None
            value = context.render(action.value).value
            headers = context.render(action.headers or {}).value
        except TemplateError as exc:
            return action_result(action, False, f"kafka {topic} => {exc}")
        try:
            async with asyncio.timeout(self._timeout_s):
                sent = await self._producer.send_and_wait(
                    topic, json.dumps(value, ensure_ascii=False).encode(),
                    key=None if key is None else _text(key).encode(),
                    headers=[(k, _text(v).encode()) for k, v in headers.items()] or None,
                )
        except Exception as exc:  # noqa: BLE001 - any producer failure fails the action
            return action_result(action, False, f"kafka {topic} => not published: "
                                                f"{(str(exc) or type(exc).__name__)[:200]}")
        where = {"topic": topic, "partition": getattr(sent, "partition", None),
                 "offset": getattr(sent, "offset", None)}
        logs = f"kafka {topic} => published (partition {where['partition']}, " \
               f"offset {where['offset']})"
        return action_result(action, True, logs, where)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
