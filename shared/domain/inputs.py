"""Declared workflow inputs (SPEC section 9) and the validation of every trigger's input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.domain.models import Workflow

INPUT_TYPES = ("string", "integer", "number", "boolean", "object", "array")


class InputError(ValueError):
    """An input that is missing, undeclared or of the wrong type; the message names it."""


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One declared input."""

    type: str
    required: bool = False
    default: Any = None

    def __post_init__(self) -> None:
        if self.type not in INPUT_TYPES:
            raise InputError(f"input type {self.type!r} must be one of {', '.join(INPUT_TYPES)}")


def has_type(value: Any, type_name: str) -> bool:
    """JSON typing: booleans are not numbers, integers are numbers."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, Mapping)
    return isinstance(value, list)


def check_declarations(declared: Mapping[str, InputSpec]) -> None:
    """A default must have the declared type."""
    for name, spec in declared.items():
        if spec.default is not None and not has_type(spec.default, spec.type):
            raise InputError(f"input {name!r}: default must be of type {spec.type}")


def resolve_input(
    declared: Mapping[str, InputSpec], given: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The input a run gets: `given` checked against `declared`, defaults filled in."""
    given = dict(given or {})
    undeclared = sorted(set(given) - set(declared))
    if undeclared:
        if not declared:
            raise InputError(f"this workflow declares no inputs; got {undeclared}")
        raise InputError(f"undeclared input(s) {undeclared}; declared: {sorted(declared)}")
    resolved: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given:
            if not has_type(given[name], spec.type):
                raise InputError(
                    f"input {name!r} must be of type {spec.type}, "
                    f"got {type(given[name]).__name__}"
                )
            resolved[name] = given[name]
        elif spec.default is not None:
            resolved[name] = spec.default
        elif spec.required:
            raise InputError(f"input {name!r} is required")
    return resolved


def requires_input(declared: Mapping[str, InputSpec] | None) -> bool:
    """True when a run cannot start without input: a required input has no default."""
    return any(s.required and s.default is None for s in (declared or {}).values())


def execution_input(workflow: Workflow) -> dict[str, Any] | None:
    """The input of the run a runner starts now: the manual claim's or the scheduled
    trigger's, defaults applied; None for a workflow that declares no inputs."""
    if not workflow.inputs:
        return None
    trigger = workflow.trigger
    given = trigger.run_input if trigger.type == "manual" else trigger.input
    try:
        return resolve_input(workflow.inputs, given)
    except InputError:  # checked when given; the declarations changed since (a new version)
        return dict(given or {})
