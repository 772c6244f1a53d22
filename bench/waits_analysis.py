"""The delay part's arithmetic, from the execution records: lateness, the most waiting at
once, the runner's RSS while they wait, and the scheduler's share of the lateness."""

from __future__ import annotations

import bisect
import math
import statistics
from typing import Any

from bench.probes import mb, percentiles

TIMELINE_POINTS = 400  # RSS / waiting samples kept for the plot
RSS_INTERVAL_S = 0.1
NEAR_PEAK = 0.9        # "while they wait": RSS samples while >= 90 % of the peak waited
PARK_MARGIN = 2.0      # delay >= this x the estimated time to park them all


def delay_for(n: int, minimum_s: int, park_per_s: float | None,
              margin: float = PARK_MARGIN) -> int:
    """The delay: `minimum_s`, or `margin` x the time parking n executions takes at
    `park_per_s` when that is longer (so the first wakes after the last parked, and the
    wakes do not queue behind the parks: that would be the runner's backlog, not lateness)."""
    if not park_per_s:
        return minimum_s
    return max(minimum_s, math.ceil(margin * n / park_per_s))


def wake_lag_ms(runs: list[tuple[float, float]], delay_s: float,
                wakes: list[tuple[float, float]]) -> dict[str, Any]:
    """The scheduler's share of the lateness: when its wake counter first reached k, minus
    the k-th due time (it wakes in due order); resolution the polling's plus a scrape."""
    if not wakes or not runs:
        return percentiles([])
    base = wakes[0][1]
    dues = sorted(start + delay_s for start, _ in runs)
    times = [t for t, _ in wakes]
    counts = [c - base for _, c in wakes]
    lags = []
    for k, due in enumerate(dues, start=1):
        i = bisect.bisect_left(counts, k)
        if i < len(times):
            lags.append((times[i] - due) * 1000)
    return percentiles(lags)


def analyse(runs: list[tuple[float, float]], delay_s: float,
            rss: list[tuple[float, int]], burst_at: float) -> dict[str, Any]:
    """Lateness, the most waiting at once, and the runner's RSS before, while at least
    NEAR_PEAK of that many waited, and after."""
    samples = [(end - (start + delay_s)) * 1000 for start, end in runs]
    late = percentiles(samples)
    peak, plateau = peak_waiting(runs)
    counts = waiting_at(runs, [t for t, _ in rss])
    before = [b for t, b in rss if t < burst_at]
    during = [b for (_, b), c in zip(rss, counts, strict=True) if peak and c >= NEAR_PEAK * peak]
    after = [b for t, b in rss if runs and t > max(end for _, end in runs)]
    every = [b for _, b in rss]
    ends = sorted(end for _, end in runs)
    result: dict[str, Any] = {
        "finished": len(runs), "peak_waiting": peak, "all_waited_at_once": peak == len(runs),
        "plateau_s": round(plateau[1] - plateau[0], 2) if plateau else None,
        "near_peak_s": round(len(during) * RSS_INTERVAL_S, 1),
        "park_span_s": round(max(s for s, _ in runs) - min(s for s, _ in runs), 2)
        if runs else None,
        "wake_span_s": round(ends[-1] - ends[0], 2) if runs else None,
        "lateness_ms": late, "p50_ms": late["p50"], "p99_ms": late["p99"],
        "max_ms": late["max"],
        "rss_before_mb": _median_mb(before), "rss_waiting_mb": _median_mb(during),
        "rss_after_mb": _median_mb(after), "rss_peak_mb": mb(max(every)) if every else None,
    }
    if result["rss_before_mb"] is not None and result["rss_waiting_mb"] is not None:
        result["rss_growth_mb"] = round(result["rss_waiting_mb"] - result["rss_before_mb"], 1)
    if during:
        result["rss_plateau_drift_mb"] = round((during[-1] - during[0]) / (1024 * 1024), 1)
    step = max(1, len(rss) // TIMELINE_POINTS)
    result["timeline"] = {
        "t_s": [round(t - burst_at, 2) for t, _ in rss[::step]],
        "rss_mb": [mb(b) or 0.0 for _, b in rss[::step]], "waiting": counts[::step],
    }
    result["lateness_samples_ms"] = [round(v, 1) for v in samples]
    return result


def peak_waiting(runs: list[tuple[float, float]]) -> tuple[int, tuple[float, float] | None]:
    """The most delays in progress at once, and the first span during which they were."""
    events = sorted([(s, 1) for s, _ in runs] + [(e, -1) for _, e in runs],
                    key=lambda ev: (ev[0], -ev[1]))
    waiting = peak = 0
    span: tuple[float, float] | None = None
    for i, (t, step) in enumerate(events):
        waiting += step
        if waiting > peak:
            peak = waiting
            following = events[i + 1][0] if i + 1 < len(events) else t
            span = (t, following)
    return peak, span


def waiting_at(runs: list[tuple[float, float]], times: list[float]) -> list[int]:
    """How many delays were in progress at each of these (ascending) times."""
    starts, ends = sorted(s for s, _ in runs), sorted(e for _, e in runs)
    return [bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in times]


def _median_mb(values: list[int]) -> float | None:
    return mb(statistics.median(values)) if values else None

