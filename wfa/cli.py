"""The `wfa` console script: every command registered on one Typer app."""

from __future__ import annotations

from wfa import read_cmds, run_cmds  # noqa: F401 - importing them registers their commands
from wfa.app import app


def main() -> None:
    """Entry point of the `wfa` console script and of `python -m wfa`."""
    app(prog_name="wfa")
