"""Configuration from environment variables (see the README's table)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DENY_NETWORKS = "169.254.0.0/16,fe80::/10,fd00:ec2::254/128"


class Settings(BaseSettings):
    """Every knob of the three services; each service reads the ones it needs."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = "mongodb://127.0.0.1:27017"
    database_name: str = "workflows"
    db_timeout_s: float = Field(default=2.0, gt=0)
    kafka_url: str = "127.0.0.1:9092"
    kafka_topic: str = "workflow.execution"
    kafka_topic_partitions: int = Field(default=6, ge=1)
    kafka_consumer_group: str = "runner-svc-group"
    kafka_send_timeout_s: float = Field(default=5.0, gt=0)
    port: int | None = None
    host: str = "127.0.0.1"
    log_level: str = "info"

    scheduler_interval: float = Field(default=5.0, gt=0, description="longest scheduler sleep, s")
    scheduler_batch_size: int = Field(default=500, ge=1)
    scheduled_timeout_s: float = Field(default=30.0, gt=0)

    execution_retries: int = Field(default=4, ge=1)
    retry_backoff_scale: float = Field(default=1.0, ge=0)
    lock_lease_s: float = Field(default=60.0, gt=0)
    runner_concurrency: int = Field(default=32, ge=1)
    runner_id: str | None = None

    http_timeout_s: float = Field(default=10.0, gt=0)
    http_max_response_bytes: int = Field(default=1_048_576, ge=0)
    http_max_redirects: int = Field(default=5, ge=0)
    http_deny_networks: str = DEFAULT_DENY_NETWORKS

    min_interval_s: float = Field(default=1.0, ge=0)
    trigger_rate_limit: int = Field(default=60, ge=0, description="accepted triggers/min/workflow")
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    api_max_in_flight: int = Field(
        default=64, ge=0,
        description="requests workflows_svc handles at once; beyond it 503 + Retry-After (0 = off)",
    )
    api_key: str | None = None
    test_fault_hooks: bool = False
    db_command_metrics: bool = Field(
        default=False, description="count MongoDB commands in /metrics (db_commands_total)"
    )

    @field_validator("http_deny_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)
        return value

    def deny_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        parts = (p.strip() for p in self.http_deny_networks.split(","))
        return [ipaddress.ip_network(p, strict=False) for p in parts if p]
