"""Markdown pieces of the report: cells, tables, percentiles, the machine's load, CPU."""

from __future__ import annotations

from typing import Any

CPU_ORDER = ("api", "api-2", "scheduler", "runner", "runner-2", "runner-3", "runner-4",
             "mongod", "kafka", "target", "generator", "bench")


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return lines + [""]


def pcts(p: dict[str, Any] | None) -> str:
    if not p or not p.get("n"):
        return "n/a"
    return f"{p['p50']} / {p['p95']} / {p['p99']} (max {p['max']})"


def load(m: dict[str, Any] | None) -> str:
    """The machine during one figure: 1-minute load average at start -> end, busy share."""
    if not m:
        return "n/a"
    return f"{m['load_1m_start']}→{m['load_1m_end']}, {m['busy_pct']:.0f} %"


def cpu(x: dict[str, Any]) -> str:
    per = x.get("cpu_ms_per") or {}
    names = [n for n in CPU_ORDER if n in per] + sorted(set(per) - set(CPU_ORDER))
    return ", ".join(f"{n} {per[n]:.2f}" for n in names)
