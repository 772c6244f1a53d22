"""Configuration from environment variables (see the README's table)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.domain.timing import parse_duration_s

# Always denied unless HTTP_ALLOW_NETWORKS lists them: "this host" (0.0.0.0/8 and :: reach the
# host itself), loopback, link-local, and the cloud metadata addresses (169.254.169.254 is in
# 169.254.0.0/16; AWS's IPv6 one; Alibaba's). Embedded IPv4 forms are checked as IPv4.
BUILTIN_DENY_NETWORKS = (
    "0.0.0.0/8,127.0.0.0/8,169.254.0.0/16,100.100.100.200/32,"
    "::/128,::1/128,fe80::/10,fd00:ec2::254/128"
)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> list[Network]:
    """`"10.0.0.0/8, fd00::/8"` -> networks (a bare address is a /32 or /128)."""
    parts = (p.strip() for p in value.split(","))
    return [ipaddress.ip_network(p, strict=False) for p in parts if p]


class Settings(BaseSettings):
    """Every knob of the three services; each service reads the ones it needs."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = "mongodb://127.0.0.1:27017"
    # Tracing is off unless set (the exporter reads the other OTEL_EXPORTER_OTLP_* itself).
    otel_exporter_otlp_endpoint: str | None = None
    database_name: str = "workflows"
    db_timeout_s: float = Field(default=2.0, gt=0)
    kafka_url: str = "127.0.0.1:9092"
    kafka_topic: str = "workflow.execution"
    kafka_topic_partitions: int = Field(default=6, ge=1)
    kafka_consumer_group: str = "runner-svc-group"
    kafka_send_timeout_s: float = Field(default=5.0, gt=0)
    kafka_dlq_topic: str | None = Field(
        default=None, description="dead-letter topic; unset: <KAFKA_TOPIC>.dlq; '' or off: none"
    )

    # Running on a cluster (README "Running on a cluster"); the defaults suit one node too.
    db_write_concern: str = Field(
        default="majority", description="w of every write: majority, or a number of members"
    )
    db_read_concern: Literal["local", "majority"] = Field(
        default="majority", description="read concern level of reads (never rolled back)"
    )
    db_operation_timeout_s: float = Field(
        default=30.0, ge=0, description="background services: longest an operation (with its "
        "retries across a failover) may take; 0 = the driver's single retry"
    )
    kafka_replication_factor: int = Field(default=1, ge=1, description="when creating the topic")
    kafka_min_insync_replicas: int = Field(default=1, ge=1, description="topic's min ISR")
    kafka_idempotence: bool = Field(default=False, description="idempotent producer")
    kafka_session_timeout_s: float = Field(default=10.0, gt=0)
    kafka_heartbeat_interval_s: float = Field(default=3.0, gt=0)
    kafka_max_poll_interval_s: float = Field(default=300.0, gt=0)
    kafka_commit_interval_ms: int = Field(
        default=1000, ge=0, description="the runner's offsets committed at most this often "
        "(and on every drain); 0: after every fetch"
    )
    kafka_rebalance_timeout_s: float = Field(
        default=45.0, gt=0, description="above the runner's 30 s drain of revoked partitions")
    port: int | None = None
    host: str = "127.0.0.1"
    log_level: str = "info"

    scheduler_interval: float = Field(default=5.0, gt=0, description="longest scheduler sleep, s")
    scheduler_batch_size: int = Field(default=500, ge=1)
    scheduler_change_stream: bool = Field(
        default=True, description="wake for new next_run values from a MongoDB change stream"
    )
    scheduled_timeout_s: float = Field(default=30.0, gt=0)

    execution_retries: int = Field(default=4, ge=1)
    max_interrupted_attempts: int = Field(
        default=10, ge=1, description="interrupted attempts of an execution before it fails"
    )
    execution_retention: str = Field(
        default="off", description='finished executions kept this long ("30d"), or "off"'
    )
    retry_backoff_scale: float = Field(default=1.0, ge=0)
    lock_lease_s: float = Field(default=60.0, gt=0)
    runner_concurrency: int = Field(default=64, ge=1)
    runner_record_after_ms: int = Field(
        default=250, ge=0, description="a new execution's insert waits this long for its "
        "attempt to end (one insert of the outcome then); 0: inserted before it starts"
    )
    max_parallel_actions: int = Field(
        default=8, ge=1, description="actions of one execution running at once (a graph)"
    )
    runner_max_actions: int = Field(
        default=128, ge=1, description="actions running at once in one runner, all executions"
    )
    runner_id: str | None = None

    http_timeout_s: float = Field(default=10.0, gt=0)
    http_max_response_bytes: int = Field(default=1_048_576, ge=0)
    http_max_redirects: int = Field(default=5, ge=0)
    http_max_recorded_bytes: int = Field(
        default=65_536, ge=0, description="of an http answer's body recorded in its response"
    )
    kafka_publish_allowed: str = Field(
        default="", description="topics kafka-publish may use: names or prefixes ending in *"
    )
    http_deny_networks: str = Field(default="", description="denied besides the built-in list")
    http_allow_networks: str = Field(default="", description="exempt from every deny-list")

    min_interval_s: float = Field(default=1.0, ge=0)
    trigger_rate_limit: int = Field(default=60, ge=0, description="accepted triggers/min/workflow")
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    api_max_in_flight: int = Field(
        default=64, ge=0,
        description="requests workflows_svc handles at once; beyond it 503 + Retry-After (0 = off)",
    )
    api_max_queue_wait_ms: int = Field(
        default=250, ge=0,
        description="a manual trigger is 503 while runs wait longer than this for a runner "
                    "(0 = off)",
    )
    api_key: str | None = None
    db_command_metrics: bool = Field(
        default=False, description="count MongoDB commands in /metrics (db_commands_total)"
    )
    db_coalesce_writes: bool = Field(
        default=True, description="concurrent execution inserts and workflow releases go "
        "to MongoDB as one command per batch"
    )

    @field_validator("db_write_concern")
    @classmethod
    def _write_concern_parses(cls, value: str) -> str:
        if value != "majority" and not (value.isdigit() and int(value) >= 1):
            raise ValueError("must be 'majority' or a number of members >= 1")
        return value

    @model_validator(mode="after")
    def _cluster_settings_agree(self) -> Settings:
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError("KAFKA_MIN_INSYNC_REPLICAS exceeds KAFKA_REPLICATION_FACTOR")
        if self.kafka_heartbeat_interval_s >= self.kafka_session_timeout_s:
            raise ValueError("KAFKA_HEARTBEAT_INTERVAL_S must be below KAFKA_SESSION_TIMEOUT_S")
        return self

    def write_concern_w(self) -> str | int:
        """`w` for the driver: "majority" or a member count."""
        return "majority" if self.db_write_concern == "majority" else int(self.db_write_concern)

    @field_validator("http_deny_networks", "http_allow_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("execution_retention")
    @classmethod
    def _retention_parses(cls, value: str) -> str:
        if value.strip().lower() != "off" and parse_duration_s(value.strip()) is None:
            raise ValueError(
                'EXECUTION_RETENTION must be "off" or a positive integer followed by s, m, h '
                'or d, e.g. "30d"'
            )
        return value.strip()

    def execution_retention_s(self) -> int | None:
        """Seconds a finished execution is kept; None keeps them forever."""
        return None if self.execution_retention.lower() == "off" else parse_duration_s(
            self.execution_retention
        )

    def dead_letter_topic(self) -> str | None:
        """Where the runner keeps records it cannot decode; None when turned off."""
        if self.kafka_dlq_topic is None:
            return f"{self.kafka_topic}.dlq"
        name = self.kafka_dlq_topic.strip()
        return None if name.lower() in ("", "off", "none") else name

    def reserved_topics(self) -> frozenset[str]:
        """Topics no kafka-publish action may use: the execution topic and its dead letters."""
        return frozenset(t for t in (self.kafka_topic, self.dead_letter_topic()) if t)

    def deny_networks(self) -> list[Network]:
        """The built-in deny-list plus `HTTP_DENY_NETWORKS`."""
        return parse_networks(BUILTIN_DENY_NETWORKS) + parse_networks(self.http_deny_networks)

    def allow_networks(self) -> list[Network]:
        """`HTTP_ALLOW_NETWORKS`: exempt from the deny-list (e.g. 127.0.0.1/32 for services
        on the runner's host)."""
        return parse_networks(self.http_allow_networks)
