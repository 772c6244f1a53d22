"""Workflow definition files: YAML or JSON, one workflow or a list of them per file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wfa.errors import EXIT_USAGE, CliError

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Definition:
    """One workflow's POST /workflows body and the file it came from."""

    workflow_id: str
    body: dict[str, Any]
    source: Path


def files_in(paths: list[Path]) -> list[Path]:
    """The definition files named, a folder's files sorted by name (not recursive)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise CliError(f"{path}: no such file or folder", EXIT_USAGE)
    return found


def parse(text: str, source: Path) -> list[Definition]:
    """The workflows of one file's text."""
    try:
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CliError(f"{source}: not valid {_kind(source)}: {first}", EXIT_USAGE) from None
    items = data if isinstance(data, list) else [data]
    definitions = []
    for index, item in enumerate(items):
        where = f"{source}" if len(items) == 1 else f"{source}[{index}]"
        if not isinstance(item, dict):
            raise CliError(f"{where}: a workflow definition must be a mapping", EXIT_USAGE)
        workflow_id = item.get("workflowId")
        if not isinstance(workflow_id, str) or not workflow_id:
            raise CliError(f"{where}: workflowId missing or not a string", EXIT_USAGE)
        definitions.append(Definition(workflow_id, item, source))
    return definitions


def load(paths: list[Path]) -> list[Definition]:
    """Every definition under `paths`; a workflowId defined twice is an error."""
    definitions: list[Definition] = []
    seen: dict[str, Path] = {}
    for path in files_in(paths):
        for definition in parse(path.read_text(encoding="utf-8"), path):
            if definition.workflow_id in seen:
                raise CliError(
                    f"{path}: workflowId {definition.workflow_id!r} is also defined in "
                    f"{seen[definition.workflow_id]}", EXIT_USAGE,
                )
            seen[definition.workflow_id] = path
            definitions.append(definition)
    if not definitions:
        raise CliError("no workflow definition found (.yaml, .yml or .json files)", EXIT_USAGE)
    return definitions


def _kind(source: Path) -> str:
    return "JSON" if source.suffix == ".json" else "YAML"
