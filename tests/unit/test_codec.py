"""shared/domain/codec.py: ExecutionRequest <-> Kafka message bytes, and poison messages."""

from __future__ import annotations

import json

import pytest

from shared.domain.codec import MAX_MESSAGE_BYTES, PoisonMessage, decode_request, encode_request
from shared.domain.models import ExecutionRequest


def test_round_trip_keyed_by_workflow_id() -> None:
    request = ExecutionRequest(workflow_id="wf-é", execution_id="e-1")

    key, value = encode_request(request)

    assert key == "wf-é".encode()
    assert json.loads(value) == {"workflow_id": "wf-é", "execution_id": "e-1"}
    assert decode_request(value) == request


def test_minimal_form_is_written_and_read() -> None:
    key, value = encode_request(ExecutionRequest(workflow_id="x"))

    assert (key, json.loads(value)) == (b"x", {"workflow_id": "x"})
    assert decode_request(b'{"workflow_id": "x"}') == ExecutionRequest(workflow_id="x")


def test_unknown_fields_are_tolerated() -> None:
    decoded = decode_request(b'{"workflow_id": "x", "request_id": "r-9", "v": 2}')

    assert decoded == ExecutionRequest(workflow_id="x")


def test_largest_allowed_message_is_accepted() -> None:
    head = b'{"workflow_id": "x", "pad": "'
    value = head + b"a" * (MAX_MESSAGE_BYTES - len(head) - 2) + b'"}'
    assert len(value) == MAX_MESSAGE_BYTES

    assert decode_request(value).workflow_id == "x"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(None, "empty", id="none"),
        pytest.param(b"", "not_json", id="empty-bytes"),
        pytest.param(b"workflow wf", "not_json", id="text"),
        pytest.param(b'{"workflow_id": "x"', "not_json", id="truncated"),
        pytest.param(b'{"workflow_id": "\xff\xfe"}', "not_json", id="non-utf8"),
        pytest.param(b'[{"workflow_id": "x"}]', "not_object", id="array"),
        pytest.param(b'"x"', "not_object", id="string"),
        pytest.param(b"null", "not_object", id="null"),
        pytest.param(b"{}", "no_workflow_id", id="missing"),
        pytest.param(b'{"workflow_id": ""}', "no_workflow_id", id="empty-id"),
        pytest.param(b'{"workflow_id": 7}', "no_workflow_id", id="int-id"),
        pytest.param(b'{"workflow_id": null}', "no_workflow_id", id="null-id"),
        pytest.param(b'{"workflow_id": ["x"]}', "no_workflow_id", id="list-id"),
        pytest.param(b'{"workflow_id": "x", "execution_id": 5}', "invalid", id="bad-field"),
        pytest.param(b'{"workflow_id": "x", "pad": "' + b"a" * MAX_MESSAGE_BYTES + b'"}',
                     "too_large", id="over-64KiB"),
        # json.loads raises RecursionError / a plain ValueError for these (issue 13, #8).
        pytest.param(b"[" * 60_000, "too_deep", id="deep-array"),
        pytest.param(b'{"a":' * 12_000, "too_deep", id="deep-object"),
        pytest.param(b"1" * 5_000, "number_too_long", id="5000-digit-number"),
        pytest.param(b'{"workflow_id": "x", "n": ' + b"7" * 5_000 + b"}", "number_too_long",
                     id="5000-digit-field"),
    ],
)
def test_poison_messages(value: bytes | None, reason: str) -> None:
    with pytest.raises(PoisonMessage) as caught:
        decode_request(value)

    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)
    assert reason in str(caught.value)
