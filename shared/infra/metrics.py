"""Prometheus metrics shared by the services (one process registry each)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Label values come from the code, never from the client: any method outside this set is
# `other`, and a path is the matched route's template or `unmatched`.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["route"])
TRIGGERS = Counter("workflow_triggers_total", "Manual triggers by outcome", ["outcome"])
EXECUTIONS = Counter("executions_total", "Execution attempts by resulting status", ["status"])
ACTION_DURATION = Histogram(
    "action_duration_seconds", "Time to run one action", ["type", "status"]
)
DISPATCHES = Counter(
    "scheduler_dispatches_total", "Execution requests produced by the scheduler", ["kind"]
)
SCHEDULER_TICK = Histogram("scheduler_tick_duration_seconds", "Duration of one scheduler tick")
CONSUMED = Counter("consumer_messages_total", "Kafka messages consumed by the runner")
CONSUMER_ERRORS = Counter(
    "consumer_errors_total", "Kafka messages skipped or failed by the runner", ["reason"]
)
DEAD_LETTERS = Counter(
    "consumer_dead_letters_total", "Writes of poison records to the dead-letter topic",
    ["outcome"],  # sent | failed (each failed attempt; the write is retried)
)
SKIPPED_REQUESTS = Counter(
    "runner_skipped_requests_total", "Requests whose claim failed (duplicate or stale)"
)
SKIPPED_SLOTS = Counter(
    "workflow_skipped_slots_total",
    "Scheduled slots that did not run: overlap (the previous run had not ended, overlap "
    "skip) or outside_catchup_window (missed for longer than the catch-up window)",
    ["reason"],
)
LOG_LINES_SUPPRESSED = Counter(
    "log_lines_suppressed_total", "Repeated library log lines dropped by the repeat filter",
    ["logger"],
)
DB_COMMANDS = Counter(
    "db_commands_total", "MongoDB commands sent (only when DB_COMMAND_METRICS is on)", ["command"]
)


def method_label(method: str) -> str:
    """A request's method as a label value: the known ones (case-sensitive), else `other`."""
    return method if method in HTTP_METHODS else "other"


def route_label(route: object) -> str:
    """The template of the route that matched (`/workflows/{workflow_id}`), or `unmatched`."""
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path.startswith("/") else "unmatched"
