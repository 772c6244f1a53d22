"""start-deps.sh itself: up twice (the second starts nothing), status, down, nothing left.

Self-contained: its own DEPS_DIR (under tmp_path) and free ports, local mode, with
DATABASE_URL/KAFKA_URL unset, so that the servers the rest of the session shares are not
touched. The jars and compiled launcher of the checkout's .deps/ are reused (DEPS_INSTALL_DIR).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, answers, private_deps_env

pytestmark = pytest.mark.integration

START_DEPS = ROOT / "start-deps.sh"


def alive(pid: int) -> bool:
    """Running (a zombie that is only waiting to be reaped does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text`` (our private DEPS_DIR)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
        except OSError:
            continue
        if text in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_up_twice_status_down_leaves_nothing(tmp_path: Path) -> None:
    deps = tmp_path / "deps"
    env = private_deps_env(deps)
    kafka_port, mongo_port = env["KAFKA_PORT"], env["MONGO_PORT"]

    def run(*args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(START_DEPS), *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert proc.returncode in ok, (
            f"start-deps.sh {' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
        return proc

    def pids() -> dict[str, int]:
        return {s: int((deps / "run" / f"{s}.pid").read_text()) for s in ("kafka", "mongo")}

    kafka_url = f"127.0.0.1:{kafka_port}"
    mongo_url = f"mongodb://127.0.0.1:{mongo_port}"
    try:
        first = run("up")
        # free_ports() draws from the ephemeral range (bind to port 0): each port is warned of
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        for name, port in (("kafka", kafka_port), ("mongo", mongo_port)):
            warned = f"WARNING: {name} port {port} lies in this machine's ephemeral port range"
            assert (warned in first.stderr) == (low <= int(port) <= high), first.stderr
        assert f"export KAFKA_URL={kafka_url}" in first.stdout, first.stdout
        assert f"export DATABASE_URL={mongo_url}" in first.stdout, first.stdout
        started = pids()
        assert all(alive(p) for p in started.values()), started
        assert answers("kafka", kafka_url), "kafka does not answer after up"
        assert answers("mongo", mongo_url), "mongo does not answer after up"

        second = run("up")
        assert second.stderr.count("already running") == 2, second.stderr
        assert "starting Kafka" not in second.stderr and "starting mongo" not in second.stderr
        assert pids() == started, "second up replaced a process"

        status = run("status")
        for service, pid in started.items():
            assert re.search(rf"^{service}: up .*pid={pid} ", status.stdout, re.M), status.stdout
        # status names the real server, its version and the replica set it initiated
        named = r"^mongo: up .*MongoDB 6\.0\.\d+ \(mongod.* replset=rs0"
        assert re.search(named, status.stdout, re.M), status.stdout
        assert "initiated with member" in (deps / "logs" / "mongod-init.log").read_text()

        run("down")
        assert not (deps / "run" / "kafka.pid").exists()
        assert not (deps / "run" / "mongo.pid").exists()
        assert not [p for p in started.values() if alive(p)], "a server survived down"
        assert processes_mentioning(str(deps)) == [], "a process of ours is left"
        assert not answers("kafka", kafka_url, timeout=1) and not answers(
            "mongo", mongo_url, timeout=1
        )

        after = run("status", ok=(3,))
        assert re.search(r"^kafka: down", after.stdout, re.M), after.stdout
        assert re.search(r"^mongo: down", after.stdout, re.M), after.stdout
        run("down")  # idempotent
    finally:
        if (deps / "run").exists():
            subprocess.run(
                [str(START_DEPS), "down"], cwd=ROOT, env=env, capture_output=True, timeout=120
            )
