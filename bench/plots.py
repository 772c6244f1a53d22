"""PNG plots of the latency distribution and of the periodic lateness (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _marks(ax: Any, result: dict[str, Any], target: float | None) -> None:
    for key, style in (("p50_ms", "-"), ("p95_ms", "--"), ("p99_ms", ":")):
        if result.get(key) is not None:
            ax.axvline(result[key], color="black", linestyle=style,
                       label=f"{key[:3]} {result[key]:.1f} ms")
    if target is not None:
        ax.axvline(target, color="red", alpha=0.6, label=f"p99 target {target:g} ms")
    ax.legend(fontsize=8)


def latency(result: dict[str, Any], path: Path) -> Path | None:
    samples = result.get("samples_ms") or []
    if not samples:
        return None
    fig, (hist, series) = plt.subplots(1, 2, figsize=(11, 4))
    hist.hist(samples, bins=60, color="tab:blue")
    hist.set_xlabel("trigger -> execution finished (ms)")
    hist.set_ylabel("executions")
    hist.set_title(f"latency at {result['rate']:g} triggers/s for {result['seconds']:g} s")
    _marks(hist, result, 150)
    series.plot(result["sent_offsets_s"], samples, ".", markersize=2, color="tab:blue")
    series.set_xlabel("trigger sent at (s into the run)")
    series.set_ylabel("latency (ms)")
    series.set_title("latency over the run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def lateness(result: dict[str, Any], path: Path) -> Path | None:
    samples = result.get("samples") or []
    if not samples:
        return None
    offsets = [s[0] for s in samples]
    late = [s[1] for s in samples]
    fig, (hist, series) = plt.subplots(1, 2, figsize=(11, 4))
    hist.hist(late, bins=60, color="tab:green")
    hist.set_xlabel("execution created_at - grid slot (ms)")
    hist.set_ylabel("runs")
    hist.set_title(f"{result['workflows']} periodic workflows every {result['interval_s']:g} s")
    _marks(hist, result, 100)
    series.plot(offsets, late, ".", markersize=3, color="tab:green")
    series.set_xlabel("s into the run")
    series.set_ylabel("lateness (ms)")
    series.set_title("lateness over the run (no drift = flat)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def waits(result: dict[str, Any], path: Path) -> Path | None:
    """Runner RSS and the delays waiting over time; the wake lateness histogram."""
    timeline = result.get("timeline") or {}
    if not timeline.get("t_s"):
        return None
    fig, (series, hist) = plt.subplots(1, 2, figsize=(11, 4))
    series.plot(timeline["t_s"], timeline["rss_mb"], color="tab:blue")
    series.set_xlabel("s from the trigger burst")
    series.set_ylabel("runner RSS (MB)", color="tab:blue")
    series.set_ylim(0, 1.3 * max(timeline["rss_mb"]))
    waiting = series.twinx()
    waiting.plot(timeline["t_s"], timeline["waiting"], color="tab:orange")
    waiting.set_ylabel("delays waiting", color="tab:orange")
    series.set_title(f"{result['n']:,} x delay {result['delay_s']} s: runner memory")
    lateness = result.get("lateness_samples_ms") or []
    hist.hist(lateness, bins=60, color="tab:green")
    hist.set_xlabel("wake lateness: delay finished - due (ms)")
    hist.set_ylabel("executions")
    _marks(hist, result, 200)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
