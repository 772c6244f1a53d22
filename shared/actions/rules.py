"""Create-time checks of a workflow's actions that need more than one action's fields.

Names and `depends_on` (the graph), template references (known roots, declared inputs,
ancestors only), and the API's configuration: `timeout_s` at most HTTP_TIMEOUT_S, and
kafka-publish topics allowed by KAFKA_PUBLISH_ALLOWED. Each failure is an InvalidInput (400)
naming the action and its field.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.actions.base import ActionBase
from shared.actions.http_request import HttpRequestAction
from shared.actions.kafka_publish import KafkaPublishAction, topic_allowed
from shared.domain.errors import InvalidInput
from shared.domain.graph import GraphError, Node, ancestors, build_nodes
from shared.domain.templating import Scope, TemplateError, check

# The fields of an action that may hold templates.
TEMPLATED = ("url", "headers", "query", "body", "message", "key", "value")


@dataclass(frozen=True)
class ActionRules:
    """The API's configuration the checks need (defaults: no topic allowed, 10 s timeout)."""

    max_timeout_s: float = 10.0
    allowed_topics: tuple[str, ...] = ()
    reserved_topics: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse_allowed(cls, value: str) -> tuple[str, ...]:
        """`"audit, reports.*"` -> ("audit", "reports.*")."""
        return tuple(part.strip() for part in value.split(",") if part.strip())


def check_actions(
    actions: Sequence[ActionBase], *, inputs: Collection[str], rules: ActionRules
) -> None:
    """Raise InvalidInput naming the first action whose definition cannot run as given."""
    try:
        nodes = build_nodes([(a.name, a.depends_on) for a in actions])
    except GraphError as exc:
        raise InvalidInput(f"actions: {exc}") from exc
    names = frozenset(n.name for n in nodes)
    for index, (action, node) in enumerate(zip(actions, nodes, strict=True)):
        where = f"actions[{index}] ({node.name})"
        _check_templates(action, where, _scope(nodes, node, names, inputs))
        _check_kind(action, where, rules)


def _scope(
    nodes: Sequence[Node], node: Node, names: frozenset[str], inputs: Collection[str]
) -> Scope:
    return Scope(
        inputs=frozenset(inputs), ancestors=frozenset(ancestors(nodes, node.name)),
        actions=names,
    )


def _check_templates(action: ActionBase, where: str, scope: Scope) -> None:
    fields: dict[str, Any] = action.model_dump()
    for name in TEMPLATED:
        if fields.get(name) is None:
            continue
        try:
            check(fields[name], scope)
        except TemplateError as exc:
            raise InvalidInput(f"{where}.{name}: {exc}") from exc


def _check_kind(action: ActionBase, where: str, rules: ActionRules) -> None:
    if isinstance(action, HttpRequestAction) and action.timeout_s is not None and (
        action.timeout_s > rules.max_timeout_s
    ):
        raise InvalidInput(
            f"{where}.timeout_s: at most HTTP_TIMEOUT_S ({rules.max_timeout_s:g}s)"
        )
    if isinstance(action, KafkaPublishAction) and not topic_allowed(
        action.topic, rules.allowed_topics, rules.reserved_topics
    ):
        if action.topic in rules.reserved_topics:
            reason = "is the service's own topic"
        else:
            reason = "is not in KAFKA_PUBLISH_ALLOWED"
        raise InvalidInput(f"{where}.topic: {action.topic!r} {reason}")
