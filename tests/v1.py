"""The v1 view of SPEC 12's richer answers: tests of v1 fields compare exactly these."""

from __future__ import annotations

from typing import Any

V1_ENTRY_FIELDS = ("action_id", "status", "logs")


def v1_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each `executed_actions` entry cut to its v1 fields (SPEC 12 adds more to each)."""
    return [{key: entry[key] for key in V1_ENTRY_FIELDS} for entry in entries]
