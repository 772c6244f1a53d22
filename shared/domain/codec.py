"""ExecutionRequest <-> Kafka message bytes."""

from __future__ import annotations

import json

from pydantic import ValidationError

from shared.domain.models import ExecutionRequest

MAX_MESSAGE_BYTES = 64 * 1024


class PoisonMessage(ValueError):
    """A message that can never be handled; `reason` labels the metric."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def encode_request(request: ExecutionRequest) -> tuple[bytes, bytes]:
    """(key, value): keyed by workflow id so one workflow stays on one partition."""
    value = request.model_dump_json(exclude_none=True).encode()
    return request.workflow_id.encode(), value


def _parse_json(value: bytes) -> object:
    """json.loads, every way it can fail named as a PoisonMessage."""
    try:
        return json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage("not_json", str(exc)[:200]) from exc
    except RecursionError as exc:  # e.g. b"[" * 60000: nesting deeper than the stack
        raise PoisonMessage("too_deep", "JSON nested too deeply") from exc
    except ValueError as exc:  # an integer over sys.get_int_max_str_digits() digits
        raise PoisonMessage("number_too_long", str(exc)[:200]) from exc


def decode_request(value: bytes | None) -> ExecutionRequest:
    """Parse a message value; raise PoisonMessage for anything unusable."""
    if value is None:
        raise PoisonMessage("empty", "message has no value")
    if len(value) > MAX_MESSAGE_BYTES:
        raise PoisonMessage("too_large", f"{len(value)} bytes")
    payload = _parse_json(value)
    if not isinstance(payload, dict):
        raise PoisonMessage("not_object", type(payload).__name__)
    workflow_id = payload.get("workflow_id")
    if not isinstance(workflow_id, str) or not workflow_id:
        raise PoisonMessage("no_workflow_id", "workflow_id missing or not a string")
    try:
        return ExecutionRequest.model_validate(payload)
    except ValidationError as exc:
        raise PoisonMessage("invalid", str(exc)[:200]) from exc
