"""The input validation table: missing, undeclared, wrong type, defaults."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.inputs import InputError, InputSpec, check_declarations, resolve_input

DECLARED = {
    "customer": InputSpec("string", required=True),
    "limit": InputSpec("integer", default=10),
    "ratio": InputSpec("number"),
    "dry": InputSpec("boolean"),
    "meta": InputSpec("object"),
    "tags": InputSpec("array"),
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"customer": "acme"}, {"customer": "acme", "limit": 10}),
        ({"customer": "a", "limit": 3, "ratio": 1}, {"customer": "a", "limit": 3, "ratio": 1}),
        ({"customer": "a", "ratio": 0.5, "dry": False, "meta": {}, "tags": []},
         {"customer": "a", "limit": 10, "ratio": 0.5, "dry": False, "meta": {}, "tags": []}),
    ],
)
def test_valid_inputs(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert resolve_input(DECLARED, given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ({}, "input 'customer' is required"),
        ({"customer": "a", "extra": 1}, "undeclared input(s) ['extra']"),
        ({"customer": 5}, "'customer' must be of type string"),
        ({"customer": "a", "limit": "10"}, "'limit' must be of type integer"),
        ({"customer": "a", "limit": True}, "'limit' must be of type integer"),
        ({"customer": "a", "ratio": "x"}, "'ratio' must be of type number"),
        ({"customer": "a", "dry": 1}, "'dry' must be of type boolean"),
        ({"customer": "a", "meta": []}, "'meta' must be of type object"),
        ({"customer": "a", "tags": {}}, "'tags' must be of type array"),
    ],
)
def test_invalid_inputs_name_the_input(given: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError) as raised:
        resolve_input(DECLARED, given)
    assert fragment in str(raised.value)


def test_no_declared_inputs_accepts_no_input() -> None:
    assert resolve_input({}, None) == {}
    with pytest.raises(InputError, match="declares no inputs"):
        resolve_input({}, {"x": 1})


def test_declarations_checked() -> None:
    with pytest.raises(InputError, match="must be one of"):
        InputSpec("date")
    with pytest.raises(InputError, match="default must be of type integer"):
        check_declarations({"n": InputSpec("integer", default="1")})
