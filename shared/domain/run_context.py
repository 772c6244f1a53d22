"""What an action may refer to while it runs (SPEC section 11's template roots).

The worker builds one per action from the execution and its workflow; the dispatcher adds
the secrets it reads from the runner's environment. Secrets never leave this value except
through rendering, and whatever is recorded is masked with `secret_values`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shared.domain.templating import Rendered, mask, mask_value, render


@dataclass(frozen=True)
class RunContext:
    """One action's view of its execution: ids, input, earlier actions' outputs, secrets."""

    execution_id: str = ""
    attempt: int = 1
    workflow_id: str = ""
    workflow_version: int = 1
    input: Mapping[str, Any] = field(default_factory=dict)
    # action name -> {"response": ..., "signal": ...} of its successful run
    actions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)

    def with_secrets(self, secrets: Mapping[str, str]) -> RunContext:
        """This context with `secrets` (name -> value) to resolve `${secrets.NAME}`."""
        return replace(self, secrets=dict(secrets))

    def roots(self) -> dict[str, Any]:
        """The lookup table of the template roots."""
        return {
            "input": dict(self.input),
            "workflow": {"id": self.workflow_id, "version": self.workflow_version},
            "execution": {"id": self.execution_id, "attempt": self.attempt},
            "actions": {name: dict(out) for name, out in self.actions.items()},
            "secrets": dict(self.secrets),
        }

    def render(self, value: Any) -> Rendered:
        """`value` with its references replaced; raises TemplateError naming a missing path."""
        return render(value, self.roots())

    @property
    def secret_values(self) -> set[str]:
        """Every secret value this context could render (all are masked where recorded)."""
        return {v for v in self.secrets.values() if v}

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by `***`."""
        return mask(text, self.secret_values)

    def mask_value(self, value: Any) -> Any:
        """`mask` applied to every string of a JSON value."""
        return mask_value(value, self.secret_values)
