"""How apply marks the workflows it created, so `--prune` archives only those.

Two marks, read together: the label `managed-by: wfa` in the definition, sent only to a
server whose POST /workflows body has a `labels` field; and, for servers without labels,
a ledger file on this machine listing, per server URL, the workflow ids apply created.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MANAGED_KEY = "managed-by"
MANAGED_VALUE = "wfa"


def state_dir(env: dict[str, str] | None = None) -> Path:
    """`WFA_STATE_DIR`, else `$XDG_STATE_HOME/wfa`, else `~/.local/state/wfa`."""
    env = dict(os.environ) if env is None else env
    if env.get("WFA_STATE_DIR"):
        return Path(env["WFA_STATE_DIR"])
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wfa"


def labelled(body: dict[str, Any]) -> dict[str, Any]:
    """The body with the managed-by label added to its labels."""
    given = body.get("labels")
    labels: dict[str, Any] = given if isinstance(given, dict) else {}
    return {**body, "labels": {**labels, MANAGED_KEY: MANAGED_VALUE}}


def has_label(stored: dict[str, Any]) -> bool:
    labels = stored.get("labels")
    return isinstance(labels, dict) and labels.get(MANAGED_KEY) == MANAGED_VALUE


class Ledger:
    """`applied.json` in the state folder: {server URL: [workflow ids apply created]}."""

    def __init__(self, folder: Path, server_url: str) -> None:
        self.path = folder / "applied.json"
        self.server_url = server_url.rstrip("/")

    def _all(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def ids(self) -> set[str]:
        return set(self._all().get(self.server_url, []))

    def update(self, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        data = self._all()
        ids = (set(data.get(self.server_url, [])) | set(add)) - set(remove)
        data[self.server_url] = sorted(ids)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        partial.replace(self.path)
