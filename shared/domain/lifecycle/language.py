"""The vocabulary the workflow lifecycle is written in: conditions on a stored workflow's
fields, updates of them, transitions and queries. Adapters translate it; nothing here runs.

Fields are the storage document's dotted paths (`trigger.status`). A value is a literal, a
`Param` the caller supplies when the transition runs, or a dict of them (a subdocument).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class Param:
    """A value supplied by the caller of a transition or query, by name."""

    name: str


class Op(StrEnum):
    EQ = "eq"  # a null value also matches a missing field, as in MongoDB
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    IN = "in"  # the value is a tuple of literals


@dataclass(frozen=True, slots=True)
class Compare:
    """`field <op> value`; an ordering never holds for a null or missing field."""

    field: str
    op: Op
    value: Any


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of the alternatives holds; each alternative is a `Condition`."""

    alternatives: tuple[tuple[Compare | AnyOf, ...], ...]


Clause = Compare | AnyOf
Condition = tuple[Clause, ...]  # every clause holds


@dataclass(frozen=True, slots=True)
class Set:
    field: str
    value: Any


@dataclass(frozen=True, slots=True)
class Unset:
    field: str


@dataclass(frozen=True, slots=True)
class Inc:
    field: str
    by: int


@dataclass(frozen=True, slots=True)
class CountInWindow:
    """The subdocument `field` counts one more in `window`, or opens it with a count of 1."""

    field: str
    window: Any
    window_key: str = "window_start"
    count_key: str = "count"


UpdateOp = Set | Unset | Inc | CountInWindow
Update = tuple[UpdateOp, ...]


@dataclass(frozen=True, slots=True)
class Transition:
    """A compare-and-set on one workflow (addressed by id): if `requires` holds, `update`."""

    name: str
    requires: Condition
    update: Update
    # Computed once: checked on every run, and a batch of claims runs it thousands of times.
    params: frozenset[str] = field(init=False, repr=False, compare=False)
    # Its precondition's parameters, sorted: calls that share their values share one batch.
    requires_params: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """`params`: the names of the parameters it needs; `requires_params`: of `requires`."""
        names = frozenset(param_names((self.requires, self.update)))
        object.__setattr__(self, "params", names)
        object.__setattr__(self, "requires_params",
                           tuple(sorted(set(param_names(self.requires)))))


@dataclass(frozen=True, slots=True)
class Query:
    """The workflows `where` holds, sorted ascending by the `order` fields."""

    name: str
    where: Condition
    order: tuple[str, ...]
    params: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """`params`: the names of the parameters it needs."""
        object.__setattr__(self, "params", frozenset(param_names(self.where)))


def eq(field: str, value: Any) -> Compare:
    return Compare(field, Op.EQ, value)


def ne(field: str, value: Any) -> Compare:
    return Compare(field, Op.NE, value)


def lt(field: str, value: Any) -> Compare:
    return Compare(field, Op.LT, value)


def le(field: str, value: Any) -> Compare:
    return Compare(field, Op.LE, value)


def gt(field: str, value: Any) -> Compare:
    return Compare(field, Op.GT, value)


def one_of(field: str, *values: Any) -> Compare:
    return Compare(field, Op.IN, tuple(values))


def is_null(field: str) -> Compare:
    return Compare(field, Op.EQ, None)


def not_null(field: str) -> Compare:
    return Compare(field, Op.NE, None)


def any_of(*alternatives: Condition) -> AnyOf:
    return AnyOf(tuple(alternatives))


def resolve(value: Any, params: Mapping[str, Any]) -> Any:
    """`value` with every `Param` replaced by its argument."""
    if isinstance(value, Param):
        return params[value.name]
    if isinstance(value, dict):
        return {key: resolve(item, params) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(resolve(item, params) for item in value)
    return value


def check_params(needed: frozenset[str], params: Mapping[str, Any], what: str) -> None:
    """Raise `ValueError` unless `params` names exactly the parameters `what` needs."""
    if set(params) != needed:
        raise ValueError(f"{what}: parameters {sorted(params)}, needs {sorted(needed)}")


def stamp_param(transition: Transition, field: str) -> str:
    """The parameter `transition` sets `field` to; `ValueError` if it sets none there."""
    for op in transition.update:
        if isinstance(op, Set) and op.field == field and isinstance(op.value, Param):
            return op.value.name
    raise ValueError(f"{transition.name}: sets no parameter into {field}")


def stamped_value(transition: Transition, field: str, params: Mapping[str, Any]) -> Any:
    """What `transition` with `params` writes at the dotted path `field` (into a document it
    sets, or the field itself); `ValueError` if it writes nothing there."""
    for op in transition.update:
        if isinstance(op, Set) and (field == op.field or field.startswith(op.field + ".")):
            value = resolve(op.value, params)
            for key in field[len(op.field):].split(".")[1:]:
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None:
                return value
    raise ValueError(f"{transition.name}: writes nothing at {field}")


def param_names(node: Any) -> list[str]:
    """The names of the `Param`s anywhere in a value, clause, update or tuple of them."""
    if isinstance(node, Param):
        return [node.name]
    if isinstance(node, dict):
        node = tuple(node.values())
    elif isinstance(node, Compare | AnyOf | Set | Unset | Inc | CountInWindow):
        node = tuple(getattr(node, slot) for slot in node.__slots__)
    if isinstance(node, tuple):
        return [name for item in node for name in param_names(item)]
    return []
