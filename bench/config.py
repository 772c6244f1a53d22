"""Sizes of the full and the smoke run, the issue's targets, the services' settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    db_ceiling_s: float          # duration of the DB compare-and-set ceiling run
    db_latency_s: float          # duration of the one-at-a-time DB latency run
    adjacent_ceiling_s: float    # DB ceiling on the measured collection, just before a run
    kafka_messages: int          # produce -> consume ceiling
    kafka_pings: int             # one-at-a-time produce -> consume latency samples
    throughput_n: int            # e2e throughput, one `log` action
    http_n: int                  # e2e throughput, one `http-request` action
    backlog_n: int               # runner alone, draining a backlog
    latency_rate: float          # triggers per second
    latency_s: float             # seconds of triggering
    scale_sizes: tuple[int, ...]  # due periodic workflows
    scale_cap_s: float           # longest wait for one size's dispatches after the due instant
    precision_workflows: int
    precision_interval_s: int
    precision_s: float


FULL = Sizes(
    db_ceiling_s=10, db_latency_s=2, adjacent_ceiling_s=3, kafka_messages=20_000, kafka_pings=300,
    throughput_n=2000, http_n=2000, backlog_n=2000, latency_rate=100, latency_s=30,
    scale_sizes=(1000, 10_000, 50_000), scale_cap_s=120, precision_workflows=50,
    precision_interval_s=2, precision_s=60,
)
SMOKE = Sizes(
    db_ceiling_s=1.5, db_latency_s=0.5, adjacent_ceiling_s=0.5, kafka_messages=1000, kafka_pings=20,
    throughput_n=20, http_n=20, backlog_n=20, latency_rate=20, latency_s=3,
    scale_sizes=(100, 200), scale_cap_s=30, precision_workflows=10, precision_interval_s=2,
    precision_s=6,
)

TRIGGER_CONCURRENCY = 64     # in-flight HTTP triggers when "as fast as the API takes them"
SCHEDULER_INTERVAL_S = 5.0   # production default, also used to plan the waits below
PARTS = ("ceilings", "throughput", "latency", "precision", "scale")


def service_env(runner_concurrency: int) -> dict[str, str]:
    """Production-like settings (tests/harness.py defaults are tuned for fast tests)."""
    return {
        "SCHEDULER_INTERVAL": str(SCHEDULER_INTERVAL_S), "RETRY_BACKOFF_SCALE": "1",
        "SCHEDULED_TIMEOUT_S": "30", "LOCK_LEASE_S": "60", "HTTP_TIMEOUT_S": "10",
        "LOG_LEVEL": "warning", "TRIGGER_RATE_LIMIT": "0",
        "RUNNER_CONCURRENCY": str(runner_concurrency), "DB_COMMAND_METRICS": "1",
        # The benchmark's target server (bench/target.py) listens on loopback, which the
        # runner denies by default: opt in to that one address.
        "HTTP_ALLOW_NETWORKS": "127.0.0.1/32",
    }


@dataclass(frozen=True)
class Target:
    key: str          # dotted path into results.json
    text: str         # the wording
    limit: float
    higher_is_better: bool = False

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.limit if self.higher_is_better else value <= self.limit


TARGETS = (
    Target("throughput.log.rt_runner", "DB round trips per single-action execution (runner)", 4),
    Target("throughput.log.ratio_to_ceiling", "e2e throughput of one runner / DB-bound ceiling",
           0.60, higher_is_better=True),
    Target("latency.p50_ms", "trigger -> finished p50 at the fixed rate (ms)", 30),
    Target("latency.p99_ms", "trigger -> finished p99 at the fixed rate (ms)", 150),
    Target("scale.dispatch_s_10k", "10k due workflows dispatched after becoming due (s)", 2.0),
    Target("scale.rss_growth_mb", "scheduler peak RSS growth, smallest -> largest N (MB)", 10),
    Target("precision.p99_ms", "periodic start lateness p99 (ms)", 100),
    Target("precision.worst_run_diff", "runs counted vs expected, worst workflow (|diff|)", 1),
    Target("throughput.runner_rss_mb", "runner RSS at steady state (MB)", 150),
)
