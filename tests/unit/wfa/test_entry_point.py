"""The `wfa` console script, `python -m wfa` and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

from wfa import cli

ROOT = Path(__file__).resolve().parents[3]


def run_wfa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wfa", *args], capture_output=True, text=True, timeout=60,
        cwd=ROOT, env={**os.environ, **(env or {})}, check=False,
    )


def test_the_console_script_and_python_m_wfa_run_the_same_function() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = project["project"]["scripts"]["wfa"]
    assert EntryPoint("wfa", target, "console_scripts").load() is cli.main
    assert "wfa.cli import main" in (ROOT / "wfa" / "__main__.py").read_text()
    assert "wfa*" in project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert "wfa" in project["tool"]["mypy"]["packages"]


def test_help_lists_every_command() -> None:
    result = run_wfa("--help")
    assert result.returncode == 0
    for command in ("apply", "ls", "get", "trigger", "executions", "logs", "pause", "resume",
                    "archive", "retry", "cancel", "signal"):
        assert f" {command} " in result.stdout, command


def test_show_completion_prints_a_bash_script() -> None:
    result = run_wfa("--show-completion", "bash")
    assert result.returncode == 0, result.stderr
    assert "_WFA_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _wfa_completion wfa" in result.stdout


def test_completion_completes_commands_and_options() -> None:
    env = {"_WFA_COMPLETE": "complete_bash", "COMP_WORDS": "wfa tr", "COMP_CWORD": "1"}
    assert run_wfa(env=env).stdout.split() == ["trigger"]
    env = {"_WFA_COMPLETE": "complete_bash", "COMP_WORDS": "wfa apply --pr", "COMP_CWORD": "2"}
    assert run_wfa(env=env).stdout.split() == ["--prune"]


def test_a_usage_error_exits_2_without_a_traceback() -> None:
    result = run_wfa("trigger")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Missing argument" in result.stderr
