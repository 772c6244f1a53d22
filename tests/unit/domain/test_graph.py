"""Action graphs: defaults, validation naming the actions, readiness and replay sets."""

from __future__ import annotations

import pytest

from shared.domain.graph import (
    GraphError,
    ancestors,
    build_nodes,
    downstream,
    ready,
    topological,
)

DIAMOND = [("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"])]


def test_v1_list_is_the_same_chain() -> None:
    nodes = build_nodes([(None, None), (None, None), (None, None)])
    assert [(n.name, n.depends_on) for n in nodes] == [
        ("action-1", ()), ("action-2", ("action-1",)), ("action-3", ("action-2",)),
    ]


def test_empty_depends_on_is_a_root_and_absent_is_the_previous() -> None:
    nodes = build_nodes([("x", None), ("y", []), ("z", None)])
    assert [n.depends_on for n in nodes] == [(), (), ("y",)]


def test_diamond_readiness_runs_b_and_c_together() -> None:
    nodes = build_nodes(DIAMOND)
    assert ready(nodes, succeeded=[], started=[]) == ["a"]
    assert ready(nodes, succeeded=["a"], started=[]) == ["b", "c"]
    assert ready(nodes, succeeded=["a", "b"], started=["c"]) == []
    assert ready(nodes, succeeded=["a", "b", "c"], started=[]) == ["d"]
    assert topological(nodes) == ["a", "b", "c", "d"]


def test_ancestors_and_downstream() -> None:
    nodes = build_nodes(DIAMOND)
    assert ancestors(nodes, "d") == {"a", "b", "c"}
    assert ancestors(nodes, "a") == set()
    assert downstream(nodes, "c") == {"c", "d"}
    assert downstream(nodes, "a") == {"a", "b", "c", "d"}


@pytest.mark.parametrize(
    ("specs", "fragment"),
    [
        ([("a", ["zz"])], "'a' depends on unknown action(s) ['zz']"),
        ([("a", ["a"])], "'a' depends on itself"),
        ([("a", ["c"]), ("b", ["a"]), ("c", ["b"])], "cycle: a -> c -> b -> a"),
        ([("a", None), ("a", None)], "'a' is used twice"),
        ([("Bad Name", None)], "must match"),
        ([("a", []), ("b", ["a", "a"])], "lists a dependency twice"),
    ],
)
def test_invalid_graphs_name_the_actions(specs: list, fragment: str) -> None:
    with pytest.raises(GraphError) as raised:
        build_nodes(specs)
    assert fragment in str(raised.value)
