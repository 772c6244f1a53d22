"""Running the `wfa` CLI as a user does: the console script this venv's install made."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# The console script `pip install -e .` writes next to this venv's Python ([project.scripts]);
# missing, every CLI test fails naming it (the install step is what is broken then).
WFA_SCRIPT = Path(sys.executable).with_name("wfa")


@dataclass
class Wfa:
    """`wfa` against one server, with a state folder (apply's ledger) of its own."""

    url: str
    state_dir: Path
    api_key: str | None = None

    def __call__(
        self, *args: str, api_key: str | None = None, timeout_s: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        assert WFA_SCRIPT.is_file(), f"the wfa console script is not installed: {WFA_SCRIPT}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WFA_")}
        env.update(WFA_URL=self.url, WFA_STATE_DIR=str(self.state_dir),
                   WFA_POLL_INTERVAL_S="0.1", COLUMNS="200")
        key = api_key if api_key is not None else self.api_key
        if key:
            env["WFA_API_KEY"] = key
        return subprocess.run(
            [str(WFA_SCRIPT), *args], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=timeout_s, check=False,
        )


def lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip()]
