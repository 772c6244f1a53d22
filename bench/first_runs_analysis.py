"""Each new workflow's slots, worked out here from its stored definition (not by the
product's schedules), matched to the runs it got: lateness and runs counted vs expected."""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from bench.probes import percentiles

KINDS = ("periodic", "cron", "once")
Doc = dict[str, Any]
HORIZON = timedelta(minutes=1)  # slots beyond the read: a run found there is not counted


def slots_of(workflow: Doc, window_end: datetime) -> list[datetime]:
    """The workflow's slots after its creation and before `window_end`."""
    created: datetime = workflow["created_at"]
    trigger = workflow["trigger"]
    if trigger["type"] == "periodic":
        step = timedelta(milliseconds=trigger["interval_ms"])
        count = -(-(window_end - created) // step) - 1  # k >= 1 with created + k * step < end
        return [created + step * k for k in range(1, count + 1)]
    if trigger["type"] == "cron":  # "* * * * *": every minute boundary strictly after it
        minute = created.replace(second=0, microsecond=0) + timedelta(minutes=1)
        slots = []
        while minute < window_end:
            slots.append(minute)
            minute += timedelta(minutes=1)
        return slots
    if trigger["type"] == "once":
        return [trigger["at"]] if trigger["at"] < window_end else []
    raise ValueError(f"no slots for a {trigger['type']} trigger")


def analyse(workflows: list[Doc], execs: list[Doc], window_end: datetime,
            read_at: datetime) -> dict[str, Any]:
    """Per kind: first-run and all-run lateness, the lead the scheduler had, the counts of
    the slots before `window_end` (runs read at `read_at`: a later slot's run is left out)."""
    started: dict[str, list[datetime]] = defaultdict(list)
    for e in execs:
        started[e["workflow_id"]].append(e["created_at"])
    per_kind: dict[str, dict[str, list[Any]]] = {
        kind: defaultdict(list) for kind in KINDS}
    for workflow in workflows:
        figures = per_kind[workflow["trigger"]["type"]]
        _match(figures, workflow["created_at"], slots_of(workflow, read_at + HORIZON), window_end,
               sorted(started[workflow["workflow_id"]]))
    kinds = {kind: _summary(figures) for kind, figures in per_kind.items()}
    present = [k for k in kinds.values() if k["workflows"]]
    return {
        **kinds,
        "first_p99_ms": _worst(present, "first_ms", "p99"),
        "p99_ms": _worst(present, "lateness_ms", "p99"),
        "worst_run_diff": max((k["worst_run_diff"] for k in present), default=0),
        "early_runs": sum(k["early_runs"] for k in present),
    }


def _match(figures: dict[str, list[Any]], created: datetime, every_slot: list[datetime],
           window_end: datetime, runs: list[datetime]) -> None:
    """Each run belongs to the latest slot at or before it; a run before the first is early."""
    counted, first_seen, early = 0, None, 0
    slots = [slot for slot in every_slot if slot < window_end]
    for run_at in runs:
        index = bisect.bisect_right(every_slot, run_at) - 1
        if index < 0:
            early += int(bool(every_slot) and run_at < every_slot[0])
            continue
        if index >= len(slots):
            continue
        late_ms = (run_at - slots[index]).total_seconds() * 1000
        figures["lateness_ms"].append(late_ms)
        figures["samples"].append([round(slots[index].timestamp(), 3), round(late_ms, 1)])
        counted += 1
        if index == 0 and first_seen is None:
            first_seen = late_ms
    figures["workflows"].append(1)
    figures["diff"].append(counted - len(slots))
    figures["expected"].append(len(slots))
    figures["early"].append(early)
    if slots:
        figures["lead_ms"].append((slots[0] - created).total_seconds() * 1000)
        if first_seen is None:
            figures["first_missing"].append(1)
        else:
            figures["first_ms"].append(first_seen)


def _summary(figures: dict[str, list[Any]]) -> dict[str, Any]:
    diffs = figures["diff"]
    expected = sum(figures["expected"])
    return {
        "workflows": len(figures["workflows"]),
        "runs_expected": expected, "runs_counted": expected + sum(diffs),
        "worst_run_diff": max((abs(d) for d in diffs), default=0),
        "run_diff_range": [min(diffs, default=0), max(diffs, default=0)],
        "first_missing": len(figures["first_missing"]), "early_runs": sum(figures["early"]),
        "lead_ms": percentiles(figures["lead_ms"]),
        "first_ms": percentiles(figures["first_ms"]),
        "lateness_ms": percentiles(figures["lateness_ms"]),
        "samples": sorted(figures["samples"]),  # [slot (epoch s), lateness ms] per run
    }


def _worst(kinds: list[dict[str, Any]], figure: str, quantile: str) -> float | None:
    values = [k[figure][quantile] for k in kinds if k[figure][quantile] is not None]
    return max(values) if values else None
