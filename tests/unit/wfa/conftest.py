"""Every wfa unit test: a state folder of its own, and no WFA_* setting from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("WFA_URL", "WFA_API_KEY", "WFA_POLL_INTERVAL_S", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "wfa-state"
    monkeypatch.setenv("WFA_STATE_DIR", str(state))
    return state
