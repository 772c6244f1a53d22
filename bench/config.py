"""Sizes of the full and the smoke run, the issue's targets, the services' settings."""

from __future__ import annotations

from dataclasses import dataclass

from shared.infra.settings import Settings


@dataclass(frozen=True)
class Sizes:
    db_ceiling_s: float          # duration of each DB ceiling run at the runner's concurrency
    db_latency_s: float          # duration of each one-at-a-time DB run
    adjacent_ceiling_s: float    # DB ceiling on the measured collection, just before a run
    kafka_messages: int          # produce -> consume ceiling
    kafka_pings: int             # one-at-a-time produce -> consume latency samples
    commands_n: int              # triggers whose DB commands are counted, per variant
    throughput_n: int            # e2e throughput, one `log` action
    http_n: int                  # e2e throughput, one `http-request` action
    backlog_n: int               # runner alone, draining a backlog (its fill: API capacity)
    latency_rate: float          # triggers per second
    latency_s: float             # seconds of triggering
    overload_s: float            # seconds of triggering per overload level
    overload_levels: tuple[float, ...]  # shares of the measured capacity
    overload_unshed: bool        # also the highest level with shedding off
    overload_unbounded_queue: bool  # also the highest level without the queue-wait bound
    serving_n: int               # triggers per server variant and round (uvloop/httptools...)
    serving_variants: tuple[str, ...]
    serving_rounds: int          # the variants measured in turn, this many times
    health_s: float              # seconds of wrk on GET /health per variant and round
    runner_loop_n: int           # backlog per runner event loop variant
    runner_loops: tuple[str, ...]
    runner_loop_rounds: int
    http_clients_n: int          # GETs per HTTP client variant
    scaleout_runners: tuple[int, ...]
    scaleout_n: int
    scaleout_api_fill: bool      # also two APIs' capacity with no runner
    cost_levels: tuple[int, ...]  # stored workflows
    cost_executions_per_workflow: int
    cost_samples: int            # requests per endpoint and level (one at a time)
    scale_sizes: tuple[int, ...]  # due periodic workflows
    scale_cap_s: float           # longest wait for one size's dispatches after the due instant
    precision_workflows: int
    precision_interval_s: int
    precision_s: float
    first_runs_periodic: int     # new periodic workflows (2 s / 3 s), spread over the window
    first_runs_once: int         # new once workflows (`after` 0.3-2.5 s), spread likewise
    first_runs_cron: int         # new every-minute cron workflows, 0.3-3 s before a minute
    first_runs_cron_slots: int   # minute boundaries in the window (crons created before each)
    first_runs_polling_too: bool  # also a stack whose scheduler only polls, for comparison
    first_runs_bursts: tuple[int, ...]  # N known workflows due at one instant (not the target)
    fanout_n: int                # executions of the 1 -> 8 http-request -> 1 graph
    waits_n: int                 # executions parked in `delay` at once
    waits_delay_s: int           # their shortest delay (longer when parking them all is slower)
    waits_warmup_n: int          # `log` executions through the runner before its RSS baseline


FULL = Sizes(
    db_ceiling_s=5, db_latency_s=2, adjacent_ceiling_s=2, kafka_messages=20_000,
    kafka_pings=200, commands_n=300, throughput_n=3000, http_n=2000, backlog_n=3000,
    latency_rate=100, latency_s=30, overload_s=15, overload_levels=(0.5, 1.0, 2.0),
    overload_unshed=True, overload_unbounded_queue=True, serving_n=1000,
    serving_variants=("uvloop+httptools", "asyncio+h11", "uvloop+h11", "asyncio+httptools"),
    serving_rounds=3, health_s=3, runner_loop_n=1500, runner_loops=("asyncio", "uvloop"),
    runner_loop_rounds=2, http_clients_n=4000,
    scaleout_runners=(1, 2, 3), scaleout_n=20_000, scaleout_api_fill=True,
    cost_levels=(1000, 10_000, 100_000), cost_executions_per_workflow=10, cost_samples=200,
    scale_sizes=(1000, 10_000, 50_000), scale_cap_s=120, precision_workflows=50,
    precision_interval_s=2, precision_s=60, first_runs_periodic=40, first_runs_once=120,
    first_runs_cron=40, first_runs_cron_slots=2, first_runs_polling_too=True,
    first_runs_bursts=(10, 40, 100), fanout_n=1000,
    waits_n=10_000, waits_delay_s=20, waits_warmup_n=500,
)
SMOKE = Sizes(
    db_ceiling_s=0.5, db_latency_s=0.3, adjacent_ceiling_s=0.3, kafka_messages=500,
    kafka_pings=10, commands_n=10, throughput_n=20, http_n=20, backlog_n=20,
    latency_rate=20, latency_s=2, overload_s=1.5, overload_levels=(0.5, 2.0),
    overload_unshed=False, overload_unbounded_queue=True, serving_n=40,
    serving_variants=("uvloop+httptools", "asyncio+h11"),
    serving_rounds=1, health_s=1, runner_loop_n=20, runner_loops=("uvloop",),
    runner_loop_rounds=1, http_clients_n=100, scaleout_runners=(2,),
    scaleout_n=30, scaleout_api_fill=False,
    cost_levels=(100, 300), cost_executions_per_workflow=3, cost_samples=10,
    scale_sizes=(100, 200), scale_cap_s=30, precision_workflows=10, precision_interval_s=2,
    precision_s=4, first_runs_periodic=4, first_runs_once=6, first_runs_cron=4,
    first_runs_cron_slots=1, first_runs_polling_too=False, first_runs_bursts=(5,),
    fanout_n=20, waits_n=200,
    waits_delay_s=4, waits_warmup_n=20,
)

TRIGGER_CONCURRENCY = 32     # connections of the "as fast as the API takes them" runs
SCHEDULER_INTERVAL_S = Settings.model_fields["scheduler_interval"].default
PARTS = ("ceilings", "commands", "throughput", "latency", "overload", "serving", "httpclients",
         "scaleout", "cost", "precision", "first_runs", "scale", "fanout", "waits")

QUEUE_WAIT = "API_MAX_QUEUE_WAIT_MS"
# What tests/harness.py's Stack sets for fast tests, put back to the defaults a user runs.
# The stack's own isolation (DATABASE_NAME, KAFKA_TOPIC, KAFKA_CONSUMER_GROUP) stays.
_HARNESS_KEYS = ("KAFKA_TOPIC_PARTITIONS", "SCHEDULER_INTERVAL", "RETRY_BACKOFF_SCALE",
                 "SCHEDULED_TIMEOUT_S", "LOCK_LEASE_S", "HTTP_TIMEOUT_S", "HTTP_DENY_NETWORKS",
                 "LOG_LEVEL", "TRIGGER_RATE_LIMIT", "RUNNER_CONCURRENCY", "API_MAX_IN_FLIGHT",
                 "DB_COMMAND_METRICS", QUEUE_WAIT)


def default(name: str) -> str:
    value = Settings.model_fields[name.lower()].default
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def service_env(runner_concurrency: int | None = None) -> dict[str, str]:
    """The services' defaults (RUNNER_CONCURRENCY only if the bench was given one)."""
    env = {key: default(key) for key in _HARNESS_KEYS}
    # The benchmark's target server (bench/target.py) listens on loopback, which the runner
    # denies by default: opt in to that one address.
    env["HTTP_ALLOW_NETWORKS"] = "127.0.0.1/32"
    # The bursts, backlogs and fills measure a queue on purpose, which the queue-wait bound
    # would shed; the latency and overload parts run on an API at the default (default_api).
    env[QUEUE_WAIT] = "0"
    if runner_concurrency is not None:
        env["RUNNER_CONCURRENCY"] = str(runner_concurrency)
    return env


ADDRESSING = ("database_url", "kafka_url", "database_name", "kafka_topic",
              "kafka_consumer_group", "port", "host")


def non_defaults(env: dict[str, str]) -> dict[str, str]:
    """The tuning settings in `env` that differ from Settings' defaults (for the report);
    where the servers are and each stack's own names are left out."""
    fields = Settings.model_fields
    return {k: v for k, v in sorted(env.items())
            if k.lower() in fields and k.lower() not in ADDRESSING and default(k) != v}


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
    Target("throughput.log.cpu_services_ms", "CPU per successful single-action execution, "
           "API + scheduler + runner, under a wrk burst (ms)", 2.0),
    Target("commands.log.per_trigger", "DB round trips per manual trigger (API)", 1),
    Target("commands.log.per_execution", "DB round trips per successful single-action "
           "execution (runner)", 4),
    Target("throughput.log.ratio_to_ceiling", "one runner's e2e throughput / DB-bound ceiling",
           0.70, higher_is_better=True),
    Target("throughput.http.ratio_to_ceiling", "same, `http-request` variant", 0.60,
           higher_is_better=True),
    Target("throughput.log.ratio_to_backlog", "executions/s with the API in the path "
           "(concurrency 32) / runner-alone drain rate", 0.80, higher_is_better=True),
    Target("latency.p50_ms", "trigger -> finished p50 at 100 triggers/s (ms)", 10),
    Target("latency.p99_ms", "trigger -> finished p99 at 100 triggers/s (ms)", 50),
    Target("overload.top.answered_p99_ms", "answered requests' trigger -> finished p99 at "
           "200 % of capacity (ms)", 1000),
    Target("overload.top.shed_without_retry_after", "shed answers without 503 + Retry-After "
           "at 200 %", 0),
    Target("overload.lost", "accepted triggers lost (no finished execution), all levels", 0),
    Target("precision.p99_ms", "periodic start lateness p99 (ms)", 50),
    Target("precision.worst_run_diff", "runs counted vs expected, worst workflow (|diff|)", 1),
    Target("first_runs.first_p99_ms", "new periodic, cron and once workflows created over "
           "the API just before their first slot: first-run lateness p99, worst kind (ms)", 50),
    Target("first_runs.p99_ms", "same workflows, all their runs: lateness p99, worst kind "
           "(ms)", 50),
    Target("first_runs.worst_run_diff", "same workflows: runs counted vs expected, worst "
           "workflow (|diff|)", 1),
    Target("scale.dispatch_s_10k", "10k due workflows dispatched after becoming due (s)", 2.0),
    Target("scale.rss_growth_mb", "scheduler peak RSS growth, smallest -> largest N (MB)", 10),
    Target("fanout.ratio_to_ceiling", "issue 11: fan-out graph (1 -> 8 `http-request` -> 1) "
           "executions/s / DB-bound ceiling", 0.60, higher_is_better=True),
    Target("waits.p99_ms", "issue 11: `delay` wake lateness p99, N waiting at once, "
           "triggered at half the runner's rate (ms)", 200),
    Target("waits.rss_growth_mb", "issue 11: runner RSS growth, before the burst -> while N "
           "wait (MB)", 10),
    Target("cost.worst_growth", "read endpoints' p99, largest / smallest stored count "
           "(worst endpoint)", 2.0),
)
