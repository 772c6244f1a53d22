"""The report's section for the first runs of new periodic, cron and once workflows."""

from __future__ import annotations

from typing import Any

from bench.first_runs_analysis import KINDS
from bench.tables import load, pcts, table


def first_runs_section(r: dict[str, Any]) -> list[str]:
    x = r.get("first_runs")
    if not x:
        return []
    runs = [("change stream (default)", x)]
    if x.get("polling"):
        runs.append(("polling only (`SCHEDULER_CHANGE_STREAM=false`)", x["polling"]))
    rows = [[label, kind, k["workflows"], pcts(k["lead_ms"]), pcts(k["first_ms"]),
             k["first_missing"], pcts(k["lateness_ms"]),
             f"{k['runs_counted']} / {k['runs_expected']}", k["worst_run_diff"],
             k["early_runs"], load(run.get("machine"))]
            for label, run in runs for kind in KINDS if (k := run[kind])["workflows"]]
    return [
        "## First runs of new workflows", "",
        *table(["scheduler wakes by", "kind", "workflows", "created before its first slot "
                "ms p50 / p95 / p99", "first run late ms p50 / p95 / p99", "first runs "
                "missing", "all runs late ms p50 / p95 / p99", "runs counted / expected",
                "worst |diff|", "early runs", "load, busy"], rows),
        f"Definitions POSTed to one API at their planned instants over {x['window_s']} s: "
        "cron `* * * * *` 0.3-3 s before each minute boundary of the window, periodic "
        "(2 s and 3 s) and once (`after` 300-2,500 ms) spread over it. Their slots are "
        "worked out in the bench from the stored definitions; lateness = execution "
        "created_at (the runner's start) - the slot. A run before its slot counts as early.",
        "",
        *table(["workflows due at one instant (known 3 s before)", "runs", "first started "
                "ms", "late ms p50 / p95 / p99", "load, busy"], [
                    [b["workflows"], b["runs"], b["min_ms"], pcts(b["lateness_ms"]),
                     load(b.get("machine"))] for b in x.get("bursts", [])]),
        "A burst is not a first run: its lateness is the time the whole pipeline (claim, "
        "publish, lock, start) takes for N at once, beside the scale part's dispatch rate.",
        "",
    ]
