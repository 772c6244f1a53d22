"""Secrets of SPEC section 9: `${secrets.NAME}` is `WFA_SECRET_NAME` of the runner's environment.

Read from the environment once at start-up, never stored: the dispatcher adds them to the run
context and masks their values in everything it records.
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
    """Secrets from environment variables `WFA_SECRET_<NAME>`, read once, when created.

    Nothing outside a process can change its environment, so one read at start-up sees
    every value a later read would; walking the environment per action cost 1.5 % of the
    runner's CPU in a profile.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        source = environ if environ is not None else os.environ
        self._secrets = {
            key[len(PREFIX):]: value for key, value in source.items()
            if key.startswith(PREFIX) and len(key) > len(PREFIX)
        }

    def read(self) -> dict[str, str]:
        """name -> value of every `WFA_SECRET_<NAME>` set (a copy: callers may add to it)."""
        return dict(self._secrets)


class NoSecrets:
    """A source without secrets (tests, tools)."""

    def read(self) -> dict[str, str]:
        return {}
