"""The report's sections for issue 11's parts: the fan-out graph and the durable delays."""

from __future__ import annotations

from typing import Any

from bench.tables import cpu, load, pcts, table


def fan_out_section(r: dict[str, Any]) -> list[str]:
    x = r.get("fanout")
    if not x:
        return []
    ceiling = x.get("adjacent_ceiling") or {}
    db = (r.get("ceilings") or {}).get("db") or {}
    counted = (r.get("commands") or {}).get("fanout") or {}
    return [
        "## Fan-out graph: 1 root -> 8 parallel `http-request` -> 1 join (one API, one runner)",
        "",
        *table(["executions", "triggers/s", "executions/s", "actions/s", "HTTP GETs/s",
                "DB trips / execution (API + runner)", "per action", "DB ceilings, same "
                "collection: find_one_and_update / update_one (ops/s)", "DB-bound /s",
                "ratio to DB-bound", "CPU ms / execution (services)", "runner RSS MB",
                "load, busy"], [[
                    x["n"], x.get("trigger_per_s"), x.get("e2e_per_s"), x.get("actions_per_s"),
                    x.get("http_requests_per_s"), x.get("db_trips"),
                    x.get("db_trips_per_action"),
                    f"{ceiling.get('find_one_and_update')} / {ceiling.get('update_one')}",
                    x.get("db_bound_per_s"), x.get("ratio_to_ceiling"),
                    x.get("cpu_services_ms"), x.get("runner_rss_steady_mb"),
                    load(x.get("machine"))]]),
        f"Same-run ceilings (`ceilings`): find_one_and_update {db.get('ops_per_s')} ops/s, "
        f"update_one {db.get('update_one_ops_per_s')} ops/s at {db.get('concurrency')} in "
        f"flight. DB commands counted with command monitoring (`commands`, "
        f"{counted.get('n')} executions): runner {counted.get('per_execution')} per execution "
        f"({counted.get('per_action')} per action) "
        f"{counted.get('per_execution_by_command')}, API {counted.get('per_trigger')} per "
        f"trigger ({x.get('db_trips_alone')} per execution when run alone). DB-bound /s = "
        "1 / Σ over the commands of one execution run alone of 1 / that command's ceiling "
        "on the same collection, measured just before.", "",
        f"CPU ms per execution: {cpu(x)} (all: {x.get('cpu_all_ms')} ms; target = the local "
        "target server answering the GETs).", "",
    ]


def waits_section(r: dict[str, Any]) -> list[str]:
    x = r.get("waits")
    if not x:
        return []
    phases = [x, *([x["burst"]] if x.get("burst") else [])]
    return [
        f"## Durable delays: {x['n']:,} executions in `delay` at once", "",
        *table(["phase", "delay s", "triggered / accepted / woken ok", "trigger s",
                "most waiting at once", "all-waiting plateau s",
                "wake lateness ms p50 / p95 / p99", "scheduler's share ms p50 / p95 / p99",
                "wakes spread s", "runner RSS MB: before / waiting / after / peak",
                "growth before -> waiting", "drift while waiting", "load, busy"],
               [_waits_row(phase) for phase in phases]),
        f"Paced: triggered at {x.get('rate')}/s, {x.get('paced_share')} of the warm-up's "
        f"{x.get('warm_up_per_s')} executions/s, so they also fall due at that rate; the "
        "delay is 1.25 x the time triggering them takes. Burst: triggered as fast as answered "
        "(wrk, 32 connections); the delay is twice the time parking them takes at the "
        "warm-up's rate. Either way the first wakes after the last parked (at least "
        f"{x.get('delay_min_s')} s); all waiting at once: "
        f"{', '.join(('yes' if p.get('all_waited_at_once') else '**no**') for p in phases)}. "
        "In the burst they fall due at the rate the runner parked them, its capacity, and "
        "waking one costs about what parking it did (3 round trips to park a new one, 4 "
        "to wake it), so the lateness "
        "there is the queue of a saturated runner: a stress figure, not the target's.", "",
        "Lateness = the delay run's finished_at - (its started_at + duration), from the "
        "execution records: the scheduler's wake (change stream + tick), Kafka and the "
        "runner's claim. The scheduler's share (`scheduler_dispatches_total{kind=\"wake\"}` "
        "polled every 50 ms: when it first reached k, minus the k-th due time). RSS: the "
        "runner process, sampled every 0.1 s; before = after a warm-up of `log` executions, "
        "before the triggers; waiting = median while at least 90 % of the most waiting at "
        "once were waiting; drift = last - first sample of those.", "",
        *(f"CPU ms per delayed execution, {p.get('mode')}: {cpu(p)}." for p in phases), "",
        "![waits](waits.png)", "",
    ]


def _waits_row(x: dict[str, Any]) -> list[Any]:
    return [
        x.get("mode"), x.get("delay_s"), f"{x['n']} / {x['accepted']} / {x['finished']}",
        x["trigger_s"], x["peak_waiting"], x.get("plateau_s"), pcts(x.get("lateness_ms")),
        pcts(x.get("scheduler_wake_lag_ms")), x.get("wake_span_s"),
        " / ".join(str(x.get(k) or "n/a") for k in (
            "rss_before_mb", "rss_waiting_mb", "rss_after_mb", "rss_peak_mb")),
        x.get("rss_growth_mb"), x.get("rss_plateau_drift_mb"), load(x.get("machine")),
    ]
