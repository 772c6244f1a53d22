"""How apply marks the workflows it created, so `--prune` archives only those.

Two marks, read together: the label `managed-by: wfa` in the definition, sent only to a
server whose POST /workflows body has a `labels` field; and, for servers without labels,
a ledger file on this machine listing, per server URL, the workflow ids apply created.

The ledger also keeps, per workflow, the digest of the body apply last sent and the version
the server answered: the server's answer does not show every field of a v2 definition
(inputs, retry, headers, ...), so "unchanged" is decided by that digest when the version is
still the one apply made.
"""

from __future__ import annotations

import hashlib
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


def digest(body: dict[str, Any]) -> str:
    """A stable digest of a definition body (key order does not matter)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Ledger:
    """`applied.json` in the state folder: {server URL: [workflow ids apply created]}."""

    def __init__(self, folder: Path, server_url: str) -> None:
        self.path = folder / "applied.json"
        self.sent_path = folder / "sent.json"
        self.server_url = server_url.rstrip("/")

    def ids(self) -> set[str]:
        return set(_read(self.path).get(self.server_url, []))

    def update(self, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        data = _read(self.path)
        ids = (set(data.get(self.server_url, [])) | set(add)) - set(remove)
        data[self.server_url] = sorted(ids)
        _write(self.path, data)

    def sent(self) -> dict[str, tuple[int, str]]:
        """Per workflow id: (the version apply's last send made, that body's digest)."""
        mine = _read(self.sent_path).get(self.server_url, {})
        return {w: (int(v["version"]), str(v["digest"])) for w, v in mine.items()
                if isinstance(v, dict) and "version" in v and "digest" in v}

    def record(self, sent: dict[str, tuple[int, str]]) -> None:
        """Remember what was just sent: {workflow id: (version, digest)}."""
        data = _read(self.sent_path)
        mine = data.get(self.server_url, {})
        mine = mine if isinstance(mine, dict) else {}
        mine.update({w: {"version": v, "digest": d} for w, (v, d) in sent.items()})
        data[self.server_url] = mine
        _write(self.sent_path, data)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
