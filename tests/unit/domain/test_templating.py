"""Templates: every root, types kept, text rendering, missing paths, create-time checks,
secrets masked."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.templating import Scope, TemplateError, check, mask_value, render

CONTEXT: dict[str, Any] = {
    "input": {"customer": "acme", "limit": 10, "flags": {"dry": True}},
    "workflow": {"id": "nightly", "version": 3},
    "execution": {"id": "e-1", "attempt": 2},
    "actions": {
        "fetch": {"response": {"status": 200, "body": {"items": [{"id": 7}, {"id": 8}]}}},
        "approve": {"signal": {"by": "ana"}},
    },
    "secrets": {"API_TOKEN": "s3cr3t"},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${input.customer}", "acme"),
        ("${input.limit}", 10),
        ("${input.flags}", {"dry": True}),
        ("${workflow.id}/${workflow.version}", "nightly/3"),
        ("${execution.attempt}", 2),
        ("${actions.fetch.response.status}", 200),
        ("${actions.fetch.response.body.items[0].id}", 7),
        ("${actions.fetch.response.body.items[1]}", {"id": 8}),
        ("ids ${actions.fetch.response.body.items}", 'ids [{"id":7},{"id":8}]'),
        ("${actions.approve.signal.by} approved", "ana approved"),
        ("Bearer ${secrets.API_TOKEN}", "Bearer s3cr3t"),
        ("no reference at all", "no reference at all"),
    ],
)
def test_render(template: str, expected: Any) -> None:
    assert render(template, CONTEXT).value == expected


def test_render_nested_values_and_collect_secrets() -> None:
    body = {"q": ["${input.limit}", {"auth": "${secrets.API_TOKEN}"}], "n": 5}
    rendered = render(body, CONTEXT)
    assert rendered.value == {"q": [10, {"auth": "s3cr3t"}], "n": 5}
    assert rendered.secrets == {"s3cr3t"}
    assert mask_value(rendered.value, rendered.secrets) == {"q": [10, {"auth": "***"}], "n": 5}


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("${input.missing}", "${input.missing} found nothing at 'missing'"),
        ("${actions.fetch.response.body.items[5].id}", "found nothing at 5"),
        ("${secrets.NOPE}", "WFA_SECRET_NOPE"),
    ],
)
def test_runtime_misses_name_the_path(template: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as raised:
        render(template, CONTEXT)
    assert fragment in str(raised.value)


SCOPE = Scope(inputs=frozenset({"customer"}), ancestors=frozenset({"fetch"}),
              actions=frozenset({"fetch", "later"}))


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("${env.HOME}", "unknown root 'env'"),
        ("${input.nope}", "input 'nope' is not declared"),
        ("${actions.ghost.response}", "unknown action 'ghost'"),
        ("${actions.later.response.status}", "'later' is not an ancestor"),
        ("${actions.fetch.body}", "use actions.fetch.response or .signal"),
        ("${workflow.owner}", "workflow has only"),
        ("${a..b}", "malformed"),
        ("${input}", "needs a field name"),
    ],
)
def test_create_time_check_rejects(template: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as raised:
        check({"url": template}, SCOPE)
    assert fragment in str(raised.value)


def test_create_time_check_accepts_known_references() -> None:
    check(["${input.customer}", "${actions.fetch.response.body.x}", "${secrets.X}",
           "${workflow.version}", "${execution.id}"], SCOPE)


def test_nothing_is_evaluated() -> None:
    with pytest.raises(TemplateError):
        render("${__import__('os').system('true')}", CONTEXT)
