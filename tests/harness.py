"""Run the three services as real processes against live Kafka and MongoDB."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.polling import eventually_sync

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    """One service process; its JSON log goes to `log_path`."""

    module: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True, timeout_s: float = 60.0) -> ServiceProcess:
        env = {**os.environ, **self.env, "PORT": str(self.port)}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_healthy(timeout_s)
        return self

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        def probe() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.module} exited early:\n{self.log_tail()}")
            return self.healthy()

        eventually_sync(probe, timeout_s=timeout_s, interval_s=0.1, what=f"{self.module} up")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """kill -9: no cleanup at all."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def terminate(self, timeout_s: float = 45.0) -> int:
        """SIGTERM and wait; the exit code (SIGKILL after the timeout)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return int(self.proc.returncode)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no log>"


@dataclass
class Stack:
    """Services sharing one database, topic and consumer group, unique per stack."""

    mongo_url: str
    kafka_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def database_name(self) -> str:
        return f"e2e_{self.name}"

    def base_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.mongo_url,
            "KAFKA_URL": self.kafka_url,
            "DATABASE_NAME": self.database_name,
            "KAFKA_TOPIC": f"wf-exec-{self.name}",
            "KAFKA_CONSUMER_GROUP": f"runner-{self.name}",
            "KAFKA_TOPIC_PARTITIONS": "6",
            "SCHEDULER_INTERVAL": "1",
            "RETRY_BACKOFF_SCALE": "0.05",
            "SCHEDULED_TIMEOUT_S": "5",
            "LOCK_LEASE_S": "6",
            "HTTP_TIMEOUT_S": "5",
            # Loopback is denied by default; the target servers of the tests and the
            # benchmark listen on 127.0.0.1, so the stacks opt in to that one address.
            "HTTP_ALLOW_NETWORKS": "127.0.0.1/32",
            "LOG_LEVEL": "info",
            "TRIGGER_RATE_LIMIT": "0",
            **self.env,
        }

    def add(
        self,
        module: str,
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> ServiceProcess:
        """Start one service process (a second runner: add("runner_svc", name="runner-2"))."""
        key = name or module
        self.workdir.mkdir(parents=True, exist_ok=True)
        service = ServiceProcess(
            module=module,
            port=free_port(),
            env={**self.base_env(), **(env or {})},
            log_path=self.workdir / f"{key}.log",
        )
        self.services[key] = service
        return service.start(wait=wait)

    def start(self) -> Stack:
        """workflows_svc first (it creates the topic), then the scheduler and the runner."""
        self.add("workflows_svc")
        self.add("scheduler_svc")
        self.add("runner_svc")
        return self

    @property
    def api(self) -> str:
        return self.services["workflows_svc"].url

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.terminate(timeout_s=20)

    def logs(self) -> str:
        return "\n".join(f"--- {key}\n{svc.log_tail()}" for key, svc in self.services.items())


def wait_port_free(port: int, timeout_s: float = 10.0) -> None:
    def free() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) != 0

    eventually_sync(free, timeout_s=timeout_s, what=f"port {port} free")


def now_s() -> float:
    return time.monotonic()
