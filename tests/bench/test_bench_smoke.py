"""The benchmark suite runs end to end at tiny sizes (it checks the suite, not the speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.config import PARTS
from tests.harness import ROOT


@pytest.mark.e2e
def test_benchmark_smoke_run_writes_a_complete_report(
    mongo_url: str, kafka_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": mongo_url, "KAFKA_URL": kafka_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=480,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text())
    report = (tmp_path / "report.md").read_text()
    assert results["meta"]["mode"] == "smoke"
    for part in PARTS:
        assert part in results, f"{part} missing from results.json"
    assert "Targets (issue 15)" in report
    assert not results["errors"], results["errors"]
    assert results["meta"]["generator"].startswith("wrk"), "the compiled load generator ran"
    assert results["throughput"]["log"]["generator"].startswith("wrk")
    assert (tmp_path / "latency.png").stat().st_size > 0
    assert (tmp_path / "lateness.png").stat().st_size > 0
    fan_out, waits = results["fanout"], results["waits"]
    assert fan_out["ok"] == fan_out["accepted"] > 0 and fan_out["ratio_to_ceiling"] > 0
    assert results["commands"]["fanout"]["per_action"] > 0
    assert waits["finished"] == waits["accepted"] > 0
    assert waits["lateness_ms"]["n"] == waits["finished"]
    assert waits["rss_waiting_mb"] is not None
    first_runs = results["first_runs"]
    for kind in ("periodic", "cron", "once"):
        assert first_runs[kind]["first_ms"]["n"] > 0, (kind, first_runs[kind])
    assert "## First runs of new workflows" in report
    assert "## Fan-out graph" in report and "## Durable delays" in report
    assert (tmp_path / "waits.png").stat().st_size > 0


@pytest.mark.e2e
def test_claim_statements_script_compares_both_shapes(mongo_url: str) -> None:
    env = {"DATABASE_URL": mongo_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.claim_statements", "--n", "60", "--page", "25",
         "--rounds", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    rows = [line for line in done.stdout.splitlines() if line.startswith("| bulk_write")
            or line.startswith("| update_many")]
    assert len(rows) == 4, done.stdout
