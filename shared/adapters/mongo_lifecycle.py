"""The lifecycle's conditions and updates as MongoDB filters and update documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.domain.lifecycle.language import (
    AnyOf,
    Compare,
    Condition,
    CountInWindow,
    Inc,
    Op,
    Set,
    Unset,
    Update,
    resolve,
)

Doc = dict[str, Any]
_OPERATORS = {Op.EQ: "$eq", Op.NE: "$ne", Op.LT: "$lt", Op.LE: "$lte", Op.GT: "$gt", Op.IN: "$in"}


def to_filter(condition: Condition, params: Mapping[str, Any]) -> Doc:
    """The query filter matching the documents for which `condition` holds."""
    fields: dict[str, Doc] = {}
    alternatives: list[Doc] = []
    for clause in condition:
        if isinstance(clause, AnyOf):
            alternatives.append({"$or": [to_filter(a, params) for a in clause.alternatives]})
        else:
            fields.setdefault(clause.field, {})[_OPERATORS[clause.op]] = _operand(clause, params)
    query: Doc = {
        field: ops["$eq"] if list(ops) == ["$eq"] else ops for field, ops in fields.items()
    }
    if len(alternatives) == 1:
        query.update(alternatives[0])
    elif alternatives:
        query["$and"] = alternatives
    return query


def to_query_filter(condition: Condition, params: Mapping[str, Any]) -> Doc:
    """`to_filter` for a query: its one `any_of` becomes a rooted `$or` of the alternatives,
    each with the other clauses. Same documents; but MongoDB gives each branch its own index
    bounds and merges them in the index's order (a page after a cursor reads its page),
    while it filters a contained `$or` after scanning from the start of the range."""
    alternatives = [clause for clause in condition if isinstance(clause, AnyOf)]
    if len(alternatives) != 1:
        return to_filter(condition, params)
    rest = tuple(clause for clause in condition if not isinstance(clause, AnyOf))
    return {"$or": [to_filter((*rest, *a), params) for a in alternatives[0].alternatives]}


def _operand(clause: Compare, params: Mapping[str, Any]) -> Any:
    value = resolve(clause.value, params)
    return list(value) if clause.op is Op.IN else value


def to_update(update: Update, params: Mapping[str, Any]) -> Doc | list[Doc]:
    """An update document, or an update pipeline when a field depends on its old value."""
    if any(isinstance(op, CountInWindow) for op in update):
        return _pipeline(update, params)
    parts: dict[str, Doc] = {}
    for op in update:
        if isinstance(op, Set):
            parts.setdefault("$set", {})[op.field] = resolve(op.value, params)
        elif isinstance(op, Unset):
            parts.setdefault("$unset", {})[op.field] = ""
        elif isinstance(op, Inc):
            parts.setdefault("$inc", {})[op.field] = op.by
    return parts


def _pipeline(update: Update, params: Mapping[str, Any]) -> list[Doc]:
    # One round trip: the new value of a field is computed from its stored one.
    fields: Doc = {}
    unset: list[str] = []
    for op in update:
        if isinstance(op, Unset):
            unset.append(op.field)
        else:
            fields[op.field] = pipeline_value(op, params)
    return [{"$set": fields}, *([{"$unset": unset}] if unset else [])]


def pipeline_value(op: Set | Inc | CountInWindow, params: Mapping[str, Any]) -> Any:
    """The expression an update pipeline's `$set` stage gives `op`'s field."""
    if isinstance(op, Set):
        return {"$literal": resolve(op.value, params)}
    if isinstance(op, Inc):
        return {"$add": [{"$ifNull": [f"${op.field}", 0]}, op.by]}
    return _count_in_window(op, params)


def _count_in_window(op: CountInWindow, params: Mapping[str, Any]) -> Doc:
    window = {"$literal": resolve(op.window, params)}
    same_window = {"$eq": [f"${op.field}.{op.window_key}", window]}
    count = {"$cond": [same_window, {"$add": [f"${op.field}.{op.count_key}", 1]}, 1]}
    return {op.window_key: window, op.count_key: count}
