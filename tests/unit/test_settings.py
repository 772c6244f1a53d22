"""Settings added by issue 13: MAX_INTERRUPTED_ATTEMPTS (#13), EXECUTION_RETENTION (#14)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.infra.settings import Settings


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg, arg-type]


def test_defaults_cap_interruptions_at_ten_and_keep_executions_forever() -> None:
    defaults = settings()

    assert defaults.max_interrupted_attempts == 10
    assert defaults.execution_retention_s() is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 2_592_000), ("12h", 43_200), ("90m", 5_400), ("45s", 45), ("off", None),
     ("OFF", None), (" 7d ", 604_800)],
)
def test_execution_retention_parses(text: str, seconds: int | None) -> None:
    assert settings(execution_retention=text).execution_retention_s() == seconds


@pytest.mark.parametrize("text", ["", "0d", "30", "30w", "-1d", "abc", "1.5d"])
def test_bad_execution_retention_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(ValidationError, match="EXECUTION_RETENTION"):
        settings(execution_retention=text)


def test_both_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTION_RETENTION", "30d")
    monkeypatch.setenv("MAX_INTERRUPTED_ATTEMPTS", "3")

    loaded = Settings(_env_file=None)  # type: ignore[call-arg]

    assert (loaded.execution_retention_s(), loaded.max_interrupted_attempts) == (2_592_000, 3)
