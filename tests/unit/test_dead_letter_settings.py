"""KAFKA_DLQ_TOPIC: on by default as `<KAFKA_TOPIC>.dlq`, a name of its own, or off."""

from __future__ import annotations

import pytest

from shared.infra.settings import Settings


@pytest.mark.parametrize(
    ("env", "topic"),
    [
        ({}, "workflow.execution.dlq"),
        ({"KAFKA_TOPIC": "t-1"}, "t-1.dlq"),
        ({"KAFKA_DLQ_TOPIC": "poison"}, "poison"),
        ({"KAFKA_DLQ_TOPIC": ""}, None),
        ({"KAFKA_DLQ_TOPIC": "off"}, None),
        ({"KAFKA_DLQ_TOPIC": "OFF"}, None),
    ],
)
def test_dead_letter_topic(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], topic: str | None
) -> None:
    monkeypatch.delenv("KAFKA_TOPIC", raising=False)
    monkeypatch.delenv("KAFKA_DLQ_TOPIC", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert Settings(_env_file=None).dead_letter_topic() == topic  # type: ignore[call-arg]
