"""The action graph of SPEC section 9: names, `depends_on`, validation and readiness.

Absent `depends_on` means "the action before me" (so a v1 list is the chain it always was);
`[]` makes a root. Everything here is a pure function of the definition and of the actions'
states, shared by the API (validation), the runner (what to start) and retries (what to redo).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class GraphError(ValueError):
    """An invalid graph; the message names the actions concerned."""


@dataclass(frozen=True, slots=True)
class Node:
    """One action as the graph sees it."""

    name: str
    depends_on: tuple[str, ...]


def default_name(action_id: int) -> str:
    """The name of an action defined without one: `action-<action_id>`."""
    return f"action-{action_id}"


def build_nodes(specs: Sequence[tuple[str | None, Sequence[str] | None]]) -> list[Node]:
    """(name, depends_on) per action in list order -> nodes with defaults applied, checked."""
    names = [name or default_name(i) for i, (name, _) in enumerate(specs, start=1)]
    nodes = []
    for index, (name, (_, depends_on)) in enumerate(zip(names, specs, strict=True)):
        if depends_on is None:
            deps: tuple[str, ...] = (names[index - 1],) if index else ()
        else:
            deps = tuple(depends_on)
        nodes.append(Node(name=name, depends_on=deps))
    validate(nodes)
    return nodes


def validate(nodes: Sequence[Node]) -> None:
    """Names well-formed and unique; dependencies known, not self, acyclic."""
    seen: set[str] = set()
    for node in nodes:
        if not NAME.fullmatch(node.name):
            raise GraphError(
                f"action name {node.name!r} must match [a-z0-9][a-z0-9_-]{{0,63}}"
            )
        if node.name in seen:
            raise GraphError(f"action name {node.name!r} is used twice")
        seen.add(node.name)
    for node in nodes:
        if node.name in node.depends_on:
            raise GraphError(f"action {node.name!r} depends on itself")
        unknown = sorted(set(node.depends_on) - seen)
        if unknown:
            raise GraphError(f"action {node.name!r} depends on unknown action(s) {unknown}")
        if len(set(node.depends_on)) != len(node.depends_on):
            raise GraphError(f"action {node.name!r} lists a dependency twice")
    cycle = find_cycle(nodes)
    if cycle:
        raise GraphError(f"actions form a cycle: {' -> '.join(cycle)}")


def find_cycle(nodes: Sequence[Node]) -> list[str]:
    """One cycle as a path that ends where it starts, or [] when the graph is acyclic."""
    deps = {n.name: n.depends_on for n in nodes}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for dep in deps[name]:
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[name] = 2
        return []

    for node in nodes:
        if node.name not in state and (found := visit(node.name)):
            return found
    return []


def ancestors(nodes: Sequence[Node], name: str) -> set[str]:
    """Every action `name` transitively depends on."""
    deps = {n.name: n.depends_on for n in nodes}
    found: set[str] = set()
    stack = list(deps[name])
    while stack:
        dep = stack.pop()
        if dep not in found:
            found.add(dep)
            stack.extend(deps[dep])
    return found


def downstream(nodes: Sequence[Node], name: str) -> set[str]:
    """`name` and every action that transitively depends on it (a replay `from` it)."""
    found = {name}
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if node.name not in found and found.intersection(node.depends_on):
                found.add(node.name)
                changed = True
    return found


def ready(nodes: Sequence[Node], succeeded: Iterable[str], started: Iterable[str]) -> list[str]:
    """Actions not started whose dependencies all succeeded, in definition order."""
    done, busy = set(succeeded), set(started)
    return [
        n.name for n in nodes
        if n.name not in done and n.name not in busy and done.issuperset(n.depends_on)
    ]


def topological(nodes: Sequence[Node]) -> list[str]:
    """A run order that respects dependencies, stable in definition order."""
    order: list[str] = []
    while len(order) < len(nodes):
        batch = ready(nodes, order, ())
        if not batch:
            raise GraphError("actions form a cycle")
        order.extend(batch)
    return order


def names_by_id(nodes: Sequence[Node]) -> Mapping[int, str]:
    """action_id (1-based, list order) -> name."""
    return {i: n.name for i, n in enumerate(nodes, start=1)}
