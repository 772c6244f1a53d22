"""The first-runs part's arithmetic: each kind's slots, runs matched to them, the counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.first_runs_analysis import analyse, slots_of

T0 = datetime(2026, 12, 3, 12, 0, 57, 500_000, tzinfo=UTC)


def ms(n: float) -> timedelta:
    return timedelta(milliseconds=n)


def periodic(workflow_id: str, interval_ms: int) -> dict:
    return {"workflow_id": workflow_id, "created_at": T0,
            "trigger": {"type": "periodic", "interval_ms": interval_ms}}


def test_each_kind_has_the_slots_of_its_definition_before_the_end() -> None:
    cron = {"workflow_id": "c", "created_at": T0, "trigger": {"type": "cron"}}
    once = {"workflow_id": "o", "created_at": T0, "trigger": {"type": "once", "at": T0 + ms(800)}}

    assert slots_of(periodic("p", 2000), T0 + ms(6000)) == [T0 + ms(2000), T0 + ms(4000)]
    assert slots_of(periodic("p", 2000), T0 + ms(6001))[-1] == T0 + ms(6000)
    assert slots_of(cron, T0 + timedelta(minutes=1, seconds=3)) == [
        T0 + ms(2500), T0 + ms(62_500)]
    assert slots_of(once, T0 + ms(800)) == []
    assert slots_of(once, T0 + ms(801)) == [T0 + ms(800)]
    with pytest.raises(ValueError, match="manual"):
        slots_of({"created_at": T0, "trigger": {"type": "manual"}}, T0)


def test_runs_are_late_from_their_slot_and_counted_against_the_slots_in_the_window() -> None:
    window_end, read_at = T0 + ms(7000), T0 + ms(10_000)
    workflows = [periodic("a", 2000), periodic("b", 2000)]
    execs = [
        {"workflow_id": "a", "created_at": T0 + ms(2030)},  # first run, 30 ms late
        {"workflow_id": "a", "created_at": T0 + ms(4010)},
        {"workflow_id": "a", "created_at": T0 + ms(7100)},  # slot 6000 (in the window), late
        {"workflow_id": "a", "created_at": T0 + ms(8005)},  # slot 8000: after the window
        {"workflow_id": "b", "created_at": T0 + ms(1990)},  # early
        {"workflow_id": "b", "created_at": T0 + ms(4020)},  # its first slot never ran
    ]

    result = analyse(workflows, execs, window_end, read_at)

    kind = result["periodic"]
    assert kind["workflows"] == 2
    assert kind["runs_expected"] == 6 and kind["runs_counted"] == 4
    assert kind["run_diff_range"] == [-2, 0] and kind["worst_run_diff"] == 2
    assert kind["first_ms"]["n"] == 1 and kind["first_ms"]["max"] == 30.0
    assert kind["first_missing"] == 1 and kind["early_runs"] == 1
    assert kind["lateness_ms"]["max"] == 1100.0
    assert kind["lead_ms"]["p50"] == 2000.0
    assert result["first_p99_ms"] == 30.0 and result["p99_ms"] == 1100.0
    assert result["worst_run_diff"] == 2 and result["early_runs"] == 1
    assert result["cron"]["workflows"] == 0 and result["cron"]["first_ms"]["p99"] is None
