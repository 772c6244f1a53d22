"""The lifecycle's transitions evaluated in pure Python, and the evaluator's semantics."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from shared.adapters.mappers import WORKFLOW_HANDLER
from shared.domain.lifecycle import queries as lq
from shared.domain.lifecycle import transitions as lc
from shared.domain.lifecycle.evaluate import apply, get_path, holds, run, select
from shared.domain.lifecycle.language import (
    CountInWindow,
    Inc,
    Param,
    Set,
    Unset,
    any_of,
    eq,
    gt,
    is_null,
    le,
    lt,
    ne,
    not_null,
    one_of,
)
from tests.lifecycle_cases import CASES, Case

ROOT = Path(__file__).resolve().parents[3]
ADAPTERS = ["memory.py", "mongo.py", "workflow_roles.py", "mongo_lifecycle.py"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_transition_applies_from_its_precondition(case: Case) -> None:
    doc = WORKFLOW_HANDLER.to_document(case.before)

    assert run(case.transition, doc, case.params)

    assert WORKFLOW_HANDLER.from_document(doc) == case.after


@pytest.mark.parametrize("case", [c for c in CASES if c.refused], ids=lambda c: c.id)
def test_the_transition_is_refused_elsewhere(case: Case) -> None:
    for refused in case.refused:
        doc = WORKFLOW_HANDLER.to_document(refused)
        untouched = copy.deepcopy(doc)

        assert not run(case.transition, doc, case.params), refused
        assert doc == untouched


def test_every_transition_has_a_case_with_its_exact_parameters() -> None:
    names = [t.name for t in lc.TRANSITIONS]
    assert len(set(names)) == len(names)
    assert {c.transition.name for c in CASES} == set(names)
    assert {c.transition.name for c in CASES if c.refused} == set(names)
    for case in CASES:
        assert set(case.params) == case.transition.params, case.id


def test_wrong_parameters_are_an_error_not_a_refusal() -> None:
    doc = WORKFLOW_HANDLER.to_document(CASES[0].before)
    with pytest.raises(ValueError, match="needs"):
        run(lc.CLAIM_TRIGGER, doc, {"now": 1})
    with pytest.raises(ValueError, match="needs"):
        select(lq.DUE, [doc], {"now": 1, "extra": 2})


def test_conditions_follow_mongodb_on_null_and_missing_fields() -> None:
    doc = {"a": 1, "b": None, "sub": {"c": 2}}
    assert get_path(doc, "sub.c") == 2 and get_path(doc, "a.x") is None
    assert holds((is_null("b"), is_null("missing"), is_null("sub.missing")), doc, {})
    assert holds((not_null("a"), ne("missing", 1), eq("sub.c", Param("p"))), doc, {"p": 2})
    for ordering in (lt, le, gt):
        assert not holds((ordering("b", 1),), doc, {})
        assert not holds((ordering("missing", 1),), doc, {})
        assert not holds((ordering("a", "text"),), doc, {})  # types never compare
    assert holds((lt("a", 2), le("a", 1), gt("a", 0)), doc, {})
    assert not holds((lt("a", 1),), doc, {})
    assert holds((one_of("a", 0, 1),), doc, {}) and not holds((one_of("a", 2),), doc, {})
    assert holds((any_of((eq("a", 5),), (eq("b", None), eq("a", 1))),), doc, {})
    assert not holds((any_of((eq("a", 5),), (eq("b", 3),)),), doc, {})


def test_updates_set_unset_increment_and_count_in_a_window() -> None:
    doc: dict = {"n": 1, "gone": 1, "rate": None}
    apply((Set("sub.x", Param("v")), Set("lock", {"token": Param("v")}), Unset("gone"),
           Inc("n", -1), Inc("new", 2), CountInWindow("rate", Param("w"))), doc,
          {"v": "t", "w": 10})
    assert doc == {"n": 0, "new": 2, "sub": {"x": "t"}, "lock": {"token": "t"},
                   "rate": {"window_start": 10, "count": 1}}
    apply((CountInWindow("rate", 10),), doc, {})
    assert doc["rate"] == {"window_start": 10, "count": 2}
    apply((CountInWindow("rate", 20),), doc, {})
    assert doc["rate"] == {"window_start": 20, "count": 1}


def test_queries_select_and_order() -> None:
    docs = [WORKFLOW_HANDLER.to_document(c.before) for c in CASES]
    for n, doc in enumerate(docs):
        doc["workflow_id"] = f"w{n:02}"
    due = select(lq.DUE, docs, {"now": CASES[0].after.created_at.replace(year=2100)})
    assert due and all(d["status"] == lc.ACTIVE and d["archived_at"] is None for d in due)
    keys = [(get_path(d, lc.NEXT_RUN), d["workflow_id"]) for d in due]
    assert keys == sorted(keys)


def test_no_state_is_spelled_as_a_string_in_the_adapters() -> None:
    states = "|".join(["active", "scheduled", "locked", "busy", "pending", "waiting", "manual"])
    for name in ADAPTERS:
        source = (ROOT / "shared" / "adapters" / name).read_text()
        assert not re.findall(rf"[\"'](?:{states})[\"']", source), name
