"""Secrets of SPEC section 9: `${secrets.NAME}` is `WFA_SECRET_NAME` of the runner's environment.

Read when an action runs, never stored: the dispatcher adds them to the run context and masks
their values in everything it records.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

PREFIX = "WFA_SECRET_"


class SecretSource(Protocol):
    """Where secret values come from (name -> value)."""

    def read(self) -> Mapping[str, str]: ...


class EnvironmentSecrets:
    """Secrets from environment variables `WFA_SECRET_<NAME>`, read on every call."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ if environ is not None else os.environ

    def read(self) -> dict[str, str]:
        """name -> value of every `WFA_SECRET_<NAME>` set."""
        return {
            key[len(PREFIX):]: value for key, value in self._environ.items()
            if key.startswith(PREFIX) and len(key) > len(PREFIX)
        }


class NoSecrets:
    """A source without secrets (tests, tools)."""

    def read(self) -> dict[str, str]:
        return {}
