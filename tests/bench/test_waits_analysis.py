"""The delay part's arithmetic: waiting at once, lateness, RSS while they wait."""

from __future__ import annotations

from bench.waits_analysis import analyse, delay_for, peak_waiting, waiting_at, wake_lag_ms

MB = 1024 * 1024


def test_peak_waiting_is_the_sweep_over_the_delay_runs() -> None:
    runs = [(0.0, 10.0), (1.0, 11.0), (2.0, 12.0), (20.0, 30.0)]

    assert peak_waiting(runs) == (3, (2.0, 10.0))
    assert waiting_at(runs, [0.5, 5.0, 10.5, 15.0, 25.0, 31.0]) == [1, 3, 2, 0, 1, 0]


def test_lateness_is_finish_minus_start_plus_delay_and_rss_is_read_near_the_peak() -> None:
    runs = [(100.0, 110.05), (100.5, 110.6), (101.0, 111.25)]
    rss = [(99.0, 50 * MB), (101.5, 60 * MB), (105.0, 61 * MB), (111.0, 58 * MB),
           (112.0, 55 * MB)]

    result = analyse(runs, 10.0, rss, burst_at=100.0)

    assert result["lateness_ms"]["p50"] == 100.0
    assert result["max_ms"] == 250.0
    assert result["peak_waiting"] == 3
    assert result["rss_before_mb"] == 50.0
    assert result["rss_waiting_mb"] == 60.5  # the samples at 101.5 and 105.0 s
    assert result["rss_growth_mb"] == 10.5
    assert result["rss_after_mb"] == 55.0


def test_the_scheduler_lag_is_when_its_wake_count_reached_k_minus_the_kth_due_time() -> None:
    runs = [(0.0, 10.5), (1.0, 11.5)]  # due at 10.0 and 11.0
    wakes = [(9.9, 7.0), (10.1, 7.0), (10.2, 8.0), (11.3, 9.0)]  # 7 woken before

    lag = wake_lag_ms(runs, 10.0, wakes)

    assert lag["n"] == 2
    assert lag["p50"] == 200.0 and lag["max"] == 300.0


def test_the_delay_outlasts_parking_them_all_at_the_warm_up_rate() -> None:
    assert delay_for(10_000, 20, 500.0) == 40
    assert delay_for(200, 20, 500.0) == 20
    assert delay_for(200, 4, None) == 4
