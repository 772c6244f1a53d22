"""The lifecycle's conditions and updates evaluated in plain Python on a stored document
(nested dicts), with MongoDB's meaning: what the in-memory adapter runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.domain.lifecycle.language import (
    AnyOf,
    Compare,
    Condition,
    CountInWindow,
    Inc,
    Op,
    Query,
    Set,
    Transition,
    Unset,
    Update,
    check_params,
    resolve,
)

Doc = dict[str, Any]
_ORDERINGS = {
    Op.LT: lambda a, b: a < b, Op.LE: lambda a, b: a <= b, Op.GT: lambda a, b: a > b,
}


def get_path(doc: Mapping[str, Any], field: str) -> Any:
    """The value at a dotted path; None when the path is missing or crosses a non-document."""
    value: Any = doc
    for key in field.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def holds(condition: Condition, doc: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether every clause of `condition` holds for `doc`."""
    return all(_clause_holds(clause, doc, params) for clause in condition)


def _clause_holds(clause: Compare | AnyOf, doc: Mapping[str, Any],
                  params: Mapping[str, Any]) -> bool:
    if isinstance(clause, AnyOf):
        return any(holds(alternative, doc, params) for alternative in clause.alternatives)
    actual, wanted = get_path(doc, clause.field), resolve(clause.value, params)
    if clause.op is Op.EQ:
        return bool(actual == wanted)
    if clause.op is Op.NE:
        return bool(actual != wanted)
    if clause.op is Op.IN:
        return actual in wanted
    if actual is None or wanted is None:
        return False
    try:
        return bool(_ORDERINGS[clause.op](actual, wanted))
    except TypeError:  # values of different types never compare, as in MongoDB
        return False


def apply(update: Update, doc: Doc, params: Mapping[str, Any]) -> None:
    """Change `doc` in place as `update` says."""
    for op in update:
        if isinstance(op, Set):
            _set_path(doc, op.field, resolve(op.value, params))
        elif isinstance(op, Unset):
            parent, key = _parent(doc, op.field)
            parent.pop(key, None)
        elif isinstance(op, Inc):
            _set_path(doc, op.field, (get_path(doc, op.field) or 0) + op.by)
        else:
            _count_in_window(op, doc, params)


def _count_in_window(op: CountInWindow, doc: Doc, params: Mapping[str, Any]) -> None:
    window = resolve(op.window, params)
    same = get_path(doc, f"{op.field}.{op.window_key}") == window
    count = get_path(doc, f"{op.field}.{op.count_key}") + 1 if same else 1
    _set_path(doc, op.field, {op.window_key: window, op.count_key: count})


def _parent(doc: Doc, field: str) -> tuple[Doc, str]:
    *path, key = field.split(".")
    for part in path:
        if not isinstance(doc.get(part), dict):
            doc[part] = {}
        doc = doc[part]
    return doc, key


def _set_path(doc: Doc, field: str, value: Any) -> None:
    parent, key = _parent(doc, field)
    parent[key] = value


def run(transition: Transition, doc: Doc, params: Mapping[str, Any]) -> bool:
    """Apply `transition` to `doc` if its precondition holds; whether it did."""
    check_params(transition.params, params, transition.name)
    if not holds(transition.requires, doc, params):
        return False
    apply(transition.update, doc, params)
    return True


def select(query: Query, docs: Iterable[Doc], params: Mapping[str, Any]) -> list[Doc]:
    """The documents `query` selects, in its order."""
    check_params(query.params, params, query.name)
    found = [doc for doc in docs if holds(query.where, doc, params)]
    return sorted(found, key=lambda doc: tuple(get_path(doc, f) for f in query.order))
