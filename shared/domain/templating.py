"""`${...}` templates of SPEC section 11: data lookups only, never evaluation.

A reference is a root and a path of dot-separated keys and `[n]` indexes:
`input.customer`, `actions.fetch.response.body.items[0].id`, `secrets.API_TOKEN`.
A string that is exactly one reference keeps the JSON type of what it finds; inside a
longer string the value is rendered as text (JSON for objects and lists).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

_REF = re.compile(r"\$\{([^${}]*)\}")
_SEGMENT = re.compile(r"([A-Za-z0-9_-]+)((?:\[[0-9]+\])*)")
_INDEX = re.compile(r"\[([0-9]+)\]")
ROOTS = ("input", "workflow", "execution", "actions", "secrets")
WORKFLOW_FIELDS = ("id", "version")
EXECUTION_FIELDS = ("id", "attempt")
ACTION_FIELDS = ("response", "signal")
MASK = "***"

Path = tuple[str | int, ...]


class TemplateError(ValueError):
    """A reference that is malformed (create time) or finds nothing (run time)."""


def parse_path(text: str) -> Path:
    """`a.b[0].c` -> ("a", "b", 0, "c"); raise `TemplateError` when malformed."""
    path: list[str | int] = []
    for part in text.strip().split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise TemplateError(f"malformed reference ${{{text}}}")
        path.append(match.group(1))
        path.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return tuple(path)


def references(value: Any) -> Iterator[str]:
    """Every reference text in a JSON value (strings at any depth, keys excluded)."""
    if isinstance(value, str):
        yield from (m.group(1) for m in _REF.finditer(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


@dataclass(frozen=True)
class Scope:
    """What a given action may refer to, for the create-time check."""

    inputs: frozenset[str]
    ancestors: frozenset[str]
    actions: frozenset[str]


def check(value: Any, scope: Scope) -> None:
    """Raise `TemplateError` for an unknown root, input or action, or a non-ancestor."""
    for text in references(value):
        path = parse_path(text)
        root = path[0]
        if root not in ROOTS:
            raise TemplateError(f"${{{text}}}: unknown root {root!r} (one of {', '.join(ROOTS)})")
        if len(path) < 2 or not isinstance(path[1], str):
            raise TemplateError(f"${{{text}}}: {root} needs a field name")
        _check_root(text, path, scope)


def _check_root(text: str, path: Path, scope: Scope) -> None:
    root, name = path[0], str(path[1])
    if root == "input" and name not in scope.inputs:
        raise TemplateError(f"${{{text}}}: input {name!r} is not declared in inputs")
    if root == "workflow" and (name not in WORKFLOW_FIELDS or len(path) > 2):
        raise TemplateError(f"${{{text}}}: workflow has only {', '.join(WORKFLOW_FIELDS)}")
    if root == "execution" and (name not in EXECUTION_FIELDS or len(path) > 2):
        raise TemplateError(f"${{{text}}}: execution has only {', '.join(EXECUTION_FIELDS)}")
    if root == "actions":
        if name not in scope.actions:
            raise TemplateError(f"${{{text}}}: unknown action {name!r}")
        if name not in scope.ancestors:
            raise TemplateError(
                f"${{{text}}}: action {name!r} is not an ancestor of this action "
                "(add it to depends_on, directly or through another action)"
            )
        if len(path) < 3 or path[2] not in ACTION_FIELDS:
            raise TemplateError(f"${{{text}}}: use actions.{name}.response or .signal")
    if root == "secrets" and len(path) != 2:
        raise TemplateError(f"${{{text}}}: a secret is one name, e.g. secrets.API_TOKEN")


@dataclass
class Rendered:
    """A rendered value and the secret values it contains (to mask wherever it is recorded)."""

    value: Any
    secrets: set[str] = field(default_factory=set)


def render(value: Any, context: Mapping[str, Any]) -> Rendered:
    """Replace every reference in `value`; raise `TemplateError` naming a path not found."""
    used: set[str] = set()
    return Rendered(_render(value, context, used), used)


def _render(value: Any, context: Mapping[str, Any], used: set[str]) -> Any:
    if isinstance(value, str):
        return _render_string(value, context, used)
    if isinstance(value, Mapping):
        return {k: _render(v, context, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context, used) for v in value]
    return value


def _render_string(text: str, context: Mapping[str, Any], used: set[str]) -> Any:
    whole = _REF.fullmatch(text)
    if whole:
        return _lookup(whole.group(1), context, used)
    return _REF.sub(lambda m: _as_text(_lookup(m.group(1), context, used)), text)


def _lookup(text: str, context: Mapping[str, Any], used: set[str]) -> Any:
    path = parse_path(text)
    current: Any = context
    for step in path:
        if isinstance(step, int) and isinstance(current, list) and step < len(current):
            current = current[step]
        elif isinstance(step, str) and isinstance(current, Mapping) and step in current:
            current = current[step]
        elif path[0] == "secrets":
            raise TemplateError(
                f"secret {path[1]!r} is not set (WFA_SECRET_{path[1]} in the runner's environment)"
            )
        else:
            raise TemplateError(f"${{{text}}} found nothing at {step!r}")
    if path[0] == "secrets":
        used.add(str(current))
    return current


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def mask(text: str, secrets: set[str]) -> str:
    """`text` with every secret value replaced by `***` (longest first)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_value(value: Any, secrets: set[str]) -> Any:
    """`mask` applied to every string in a JSON value."""
    if not secrets:
        return value
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, Mapping):
        return {k: mask_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, secrets) for v in value]
    return value
