"""results.json and report.md: our figures beside the ceilings and the machine's load of the
same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.commands import ALONE_N, alone
from bench.config import TARGETS
from bench.report_first_runs import first_runs_section
from bench.report_graphs import fan_out_section, waits_section
from bench.tables import cpu as _cpu
from bench.tables import load as _load
from bench.tables import pcts as _pcts
from bench.tables import table as _table

RAW_KEYS = ("samples_ms", "sent_offsets_s", "samples", "timeline", "lateness_samples_ms")


def lookup(results: dict[str, Any], dotted: str) -> Any:
    value: Any = results
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for target in TARGETS:
        value = lookup(results, target.key)
        rows.append({
            "key": target.key, "text": target.text, "value": value,
            "limit": (">= " if target.higher_is_better else "<= ") + f"{target.limit:g}",
            "met": target.met(value) if isinstance(value, int | float) else None,
        })
    return rows


def write(results: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    path = out / "report.md"
    path.write_text("\n".join(render(results)) + "\n")
    return path


def render(r: dict[str, Any]) -> list[str]:
    meta, machine = r["meta"], r.get("machine", {})
    lines = [
        f"# Benchmark report ({meta['mode']} run)", "",
        f"`{meta['command']}` — started {meta['started']}, took {meta['duration_s']} s; "
        f"parts: {', '.join(meta['parts'])}.", "",
        "## Machine", "",
        *_table(["what", "value"], [
            ["CPU", machine.get("cpu")],
            ["cores (logical / physical)",
             f"{machine.get('logical_cores')} / {machine.get('physical_cores')}"],
            ["memory", f"{machine.get('memory_gb')} GB"], ["OS", machine.get("os")],
            ["Python", machine.get("python")], ["Kafka", machine.get("kafka")],
            ["database", machine.get("database")],
            ["load generator", meta.get("generator")],
            ["libraries", ", ".join(f"{k} {v}" for k, v in machine.get("libraries", {}).items())],
            ["load average at start / end",
             f"{machine.get('load_avg_at_start')} / {meta.get('load_avg_at_end')}"],
            ["busiest other processes at start (% of one core)",
             ", ".join(f"{p} {c}" for p, c in machine.get("busy_processes", [])) or "none"],
        ]),
        "Kafka, mongod, the services, the load generator and this benchmark share these "
        "cores; whatever else runs on the machine competes too. Every figure below carries "
        "the machine's 1-minute load average (start→end of that measurement) and the "
        "busy share of all cores during it.", "",
        *_table(["part", "seconds", "CPU busy % (all cores)", "load avg 1 min at end"], [
            [part, t["seconds"], t["cpu_busy_pct"], t["load_avg_1m"]]
            for part, t in meta.get("part_timing", {}).items()
        ]),
        "## Targets (issue 15)", "",
        *_table(["target", "limit", "measured", "verdict"], [
            [t["text"], t["limit"], t["value"],
             {True: "met", False: "**missed**", None: "n/a"}[t["met"]]]
            for t in r.get("targets", [])
        ]),
    ]
    for section in (_ceilings, _commands, _throughput, _serving, _latency, _overload,
                    _httpclients, _scaleout, _cost, _scale, _precision, first_runs_section,
                    fan_out_section, waits_section):
        try:
            lines += section(r)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            lines += [f"({section.__name__.strip('_')}: cannot render: {exc!r})", ""]
    if r.get("errors"):
        lines += ["## Errors", ""]
        for part, error in r["errors"].items():
            lines += [f"### {part}", "", "```", error.strip(), "```", ""]
    lines += ["## Settings of the services", "",
              "The defaults a user runs (`shared/infra/settings.py`), except: "
              + (", ".join(f"`{k}={v}`" for k, v in meta.get("non_default_settings", {}).items())
                 or "nothing")
              + "; `DB_COMMAND_METRICS=1` in the `commands` part only, `API_MAX_IN_FLIGHT=0` "
              "for the unshed overload comparison only, `API_MAX_QUEUE_WAIT_MS=0` everywhere "
              "but the latency part and the overload levels (the bursts, backlogs and fills "
              "measure a queue on purpose, which that bound would shed). Each stack has its "
              "own database, topic and consumer group.", ""]
    return lines


def _ceilings(r: dict[str, Any]) -> list[str]:
    c = r.get("ceilings")
    if not c:
        return []
    db, kafka = c["db"], c["kafka"]
    n = db["concurrency"]
    return [
        "## Ceilings of the infrastructure (this run)", "",
        *_table(["ceiling", "value", "latency ms p50 / p95 / p99", "load, busy"], [
            [f"DB find_one_and_update CAS, {n} in flight (ops/s)", db["ops_per_s"],
             _pcts(db["latency_ms"]), _load(db.get("machine"))],
            ["DB find_one_and_update CAS, 1 in flight (ops/s)", db["single_ops_per_s"],
             _pcts(db["single_latency_ms"]), ""],
            [f"DB update_one CAS, {n} in flight (ops/s)", db.get("update_one_ops_per_s"),
             _pcts(db.get("update_one_latency_ms")), ""],
            ["DB update_one CAS, 1 in flight (ops/s)", db.get("update_one_single_ops_per_s"),
             _pcts(db.get("update_one_single_latency_ms")), ""],
            [f"Kafka produce, pipelined, {kafka['messages']} messages (msgs/s)",
             kafka["produce_msgs_per_s"], "", _load(kafka.get("machine"))],
            ["Kafka produce -> consume, pipelined (msgs/s)",
             kafka["produce_consume_msgs_per_s"], "", ""],
            ["Kafka one message: produce acknowledged", "", _pcts(kafka["ack_ms"]), ""],
            ["Kafka one message: produce -> consumed", "", _pcts(kafka["produce_to_consume_ms"]),
             ""],
        ]),
        f"Kafka producer: {kafka.get('producer')}; consumer: fetch_max_wait 200 ms like the "
        f"runner's; {kafka['partitions']} partitions. DB: compare-and-sets on "
        f"{db.get('documents', '?')} workflow documents flipping status like the runner's "
        f"claim, at the runner's concurrency ({n}) and one at a time.", "",
        *_command_cpu(db.get("cpu_ms_per_command"), (r.get("commands") or {}).get("log")),
    ]


def _command_cpu(per: dict[str, Any] | None, counted: dict[str, Any] | None) -> list[str]:
    """The CPU one DB command costs, client (PyMongo in this process) and server."""
    if not per:
        return []
    said = "; ".join(f"`{op}` {x['client']} ms in the client (PyMongo), {x['mongod']} ms in "
                     "mongod" for op, x in per.items())
    one = alone(counted) if counted else None
    sent = ("A single-action execution run alone sends "
            f"{one['per_trigger'] + one['per_execution']:g} (the API's "
            f"{one['per_trigger']:g}, the runner's {one['per_execution']:g}, counted "
            "below)" if one else "Every DB command an execution sends costs that")
    return [f"CPU per DB command, during the in-flight ceilings above: {said}. {sent}: "
            "their client side alone is a floor under the services' CPU per execution, "
            "before any HTTP, Kafka or domain work.", ""]


def _commands(r: dict[str, Any]) -> list[str]:
    c = r.get("commands")
    if not c:
        return []
    rows = [[name, x["n"], x["per_trigger"], x["per_trigger_by_command"], x["per_execution"],
             x["per_execution_by_command"], alone(x)["per_execution"],
             alone(x)["per_execution_by_command"], x["scheduler_per_tick"],
             x["scheduler_by_command"]]
            for name, x in (("one `log` action", c["log"]), ("one `http-request`", c["http"]),
                            ("fan-out graph: `log` -> 8 `http-request` -> `log`",
                             c.get("fanout")))
            if x]
    return [
        "## DB commands per trigger and per execution (command monitoring)", "",
        *_table(["variant", "triggers", "per trigger (API)", "by command", "per execution "
                 "(runner), 32 in flight", "by command", f"per execution, {ALONE_N} alone",
                 "by command", "scheduler per idle loop", "scheduler commands"], rows),
        f"Counted by PyMongo command monitoring in the services ({c['setting']}): "
        "`db_commands_total{command}` before and after, divided by the accepted triggers "
        "and the `ok` executions.", "",
    ]


def _throughput(r: dict[str, Any]) -> list[str]:
    t = r.get("throughput")
    if not t:
        return []
    rows = []
    for name, label in (("log", "one `log`, triggered (wrk, 32 connections) while the runner "
                         "runs"),
                        ("http", "one `http-request` to a local server, same"),
                        ("backlog", "one `log`, runner alone draining a backlog")):
        x = t[name]
        rate = x.get("e2e_per_s") or x.get("runner_per_s")
        ceiling = x.get("adjacent_ceiling") or {}
        rows.append([label, x["n"], x.get("trigger_per_s"), rate,
                     f"{x.get('db_trips')} ({x.get('db_trips_alone')} alone)",
                     f"{ceiling.get('find_one_and_update')} / {ceiling.get('update_one')}",
                     x.get("db_bound_per_s"), x.get("ratio_to_ceiling"),
                     x.get("cpu_services_ms"), x.get("runner_rss_steady_mb"),
                     _load(x.get("machine"))])
    cap = t.get("api_capacity") or {}
    lines = [
        "## End-to-end throughput (one API, one runner)", "",
        *_table(["variant", "N", "triggers/s", "executions/s", "DB trips / execution",
                 "DB ceilings, same collection: find_one_and_update / update_one (ops/s)",
                 "DB-bound /s", "ratio to DB-bound", "CPU ms / execution (services)",
                 "runner RSS MB", "load, busy"], rows),
        "executions/s: ok / (last finished_at - first trigger sent); backlog: ok / (last "
        "finished_at - first created_at). DB trips: the commands sent per execution in "
        "the `commands` part under load (concurrent inserts and releases share one) and "
        "alone (one document each). DB-bound /s = 1 / Σ over the commands of one execution "
        "run alone (API's included when it is in the path) of 1 / that command's ceiling on "
        "the same collection measured just before: the rate of one document per command, "
        "which shared commands can pass. With the API in the path: "
        f"{t['log'].get('ratio_to_backlog')} of the runner-alone drain rate.", "",
        "CPU milliseconds per execution of every process (wrk: the generator; bench: this "
        "process polling /metrics and the DB):", "",
        *[f"- {name}: {_cpu(t[name])} (all: {t[name].get('cpu_all_ms')} ms)"
          for name in ("log", "http", "backlog")],
        f"- API alone filling the backlog (per trigger): {_cpu(cap)}", "",
        "One API process's capacity (the backlog fill: no runner consuming, wrk at "
        f"{cap.get('concurrency')} connections): **{cap.get('triggers_per_s')} triggers/s**, "
        f"answer ms p50 / p95 / p99 {_pcts(cap.get('trigger_answer_ms'))}, API CPU "
        f"{(cap.get('cpu_ms_per') or {}).get('api')} ms per trigger; {_load(cap.get('machine'))}.",
        "",
    ]
    return lines


def _serving(r: dict[str, Any]) -> list[str]:
    s = r.get("serving")
    if not s:
        return []
    rows = [[x["variant"], x["rounds"], x.get("triggers_per_s"), x.get("api_cpu_ms"),
             x.get("answer_p99_ms"), x.get("health_per_s"), x.get("health_cpu_us"),
             f"{x.get('each_triggers_per_s')} / {x.get('each_api_cpu_ms')}",
             "; ".join(_load(m) for m in x.get("machine", []))] for x in s["api"]]
    loops = [[x["loop"], x["rounds"], x.get("runner_per_s"), x.get("steady_per_s"),
              x.get("runner_cpu_ms"), x.get("each_per_s"),
              "; ".join(_load(m) for m in x.get("machine", []))]
             for x in s["runner_loop"]]
    json_rows = [[body, way, us] for body, ways in s["json"].items() for way, us in ways.items()]
    return [
        "## Serving: event loop and HTTP parser, JSON", "",
        f"Default now: `{s['default']}` (shared/web/serve.py; uvicorn's \"auto\" picks the same). "
        "Variants measured in turn (each round starts at another), medians of the rounds.", "",
        *_table(["workflows_svc loop+parser", "rounds", "triggers/s (no runner)",
                 "API CPU ms / trigger", "answer p99 ms", "GET /health req/s",
                 "API CPU µs / GET /health", "each round: triggers/s / API CPU ms",
                 "load, busy (each round)"], rows),
        *_table(["runner event loop", "rounds", "drain /s", "steady /s",
                 "runner CPU ms / execution", "each round: drain /s", "load, busy"], loops),
        *_table(["response", "serialization", "µs per response"], json_rows),
        "", ]


def _floor(r: dict[str, Any]) -> str:
    """The latency one trigger cannot beat: its DB commands one at a time plus one Kafka
    produce -> consume, at the p50 of the ceilings measured in this run."""
    c, counted = r.get("ceilings") or {}, (r.get("commands") or {}).get("log")
    if not c or not counted:
        return ""
    db, kafka = c["db"], c["kafka"]
    fam = (db.get("single_latency_ms") or {}).get("p50") or 0
    upd = (db.get("update_one_single_latency_ms") or {}).get("p50") or fam
    counted = alone(counted)
    trips = dict(counted["per_execution_by_command"])
    for name, per in counted["per_trigger_by_command"].items():
        trips[name] = trips.get(name, 0) + per
    db_ms = sum(per * (fam if name == "findAndModify" else upd) for name, per in trips.items())
    kafka_ms = (kafka.get("produce_to_consume_ms") or {}).get("p50") or 0
    return (f"Floor from this run's ceilings: {sum(trips.values()):g} DB commands one at a "
            f"time ≈ {db_ms:.1f} ms + Kafka produce -> consumed {kafka_ms} ms = "
            f"{db_ms + kafka_ms:.1f} ms (p50s).")


def _latency(r: dict[str, Any]) -> list[str]:
    x = r.get("latency")
    if not x:
        return []
    return [
        "## Latency: trigger -> execution finished (open loop, wrk)", "", _floor(r), "",
        *_table(["rate", "achieved", "sent / accepted / finished", "p50 ms", "p95 ms", "p99 ms",
                 "max ms", "trigger answer ms p50 / p95 / p99", "CPU ms / execution",
                 "load, busy"], [[
                     x["rate"], x["achieved_rate"],
                     f"{x['sent']} / {x['accepted']} / {x['finished']}", x["p50_ms"],
                     x["p95_ms"], x["p99_ms"], x["max_ms"], _pcts(x["trigger_answer_ms"]),
                     _cpu(x), _load(x.get("machine"))]]),
        "![latency](latency.png)", "",
    ]


def _overload(r: dict[str, Any]) -> list[str]:
    o = r.get("overload")
    if not o:
        return []
    levels = [(f"{100 * x['share_of_capacity']:.0f} %", x) for x in o["levels"]]
    if o.get("queue_unbounded"):
        q = o["queue_unbounded"]
        levels.append((f"{100 * q['share_of_capacity']:.0f} %, API_MAX_QUEUE_WAIT_MS=0", q))
    if o.get("unshed"):
        levels.append((f"{100 * o['unshed']['share_of_capacity']:.0f} %, no shedding "
                       "(API_MAX_IN_FLIGHT=0, API_MAX_QUEUE_WAIT_MS=0)", o["unshed"]))
    rows = [[name, x["rate"], x["achieved_rate"], x["sent"], x["accepted"], x["shed"],
             x["shed_share"], x["answered_p50_ms"], x["answered_p99_ms"],
             _pcts(x["trigger_answer_ms"]), x["lost"], x["executed_not_accepted"],
             x["shed_without_retry_after"], _load(x.get("machine"))] for name, x in levels]
    return [
        "## Overload: 50 / 100 / 200 % of capacity", "",
        f"Capacity {o['capacity_per_s']} /s ({o['capacity_source']}); the API sheds past "
        f"API_MAX_IN_FLIGHT={o['api_max_in_flight']} (the default) with 503 + Retry-After.",
        "",
        *_table(["offered", "rate /s", "achieved /s", "sent", "accepted (200)", "shed (503)",
                 "shed share", "trigger -> finished p50 ms (accepted)", "p99 ms",
                 "answer ms p50 / p95 / p99 (all answers)", "accepted but lost",
                 "ran without a 200", "503 without Retry-After", "load, busy"], rows),
        "Lost: a 200 without a finished `ok` execution. Every trigger goes to its own "
        "workflow; each level runs for the same time.", "",
    ]


def _httpclients(r: dict[str, Any]) -> list[str]:
    h = r.get("httpclients")
    if not h:
        return []
    rows = [[x["variant"], x.get("library_version"), x.get("concurrency"), x.get("ok"),
             x.get("per_s"),
             x.get("cpu_ms_per_request"), _pcts(x.get("latency_ms")),
             x.get("target_cpu_ms_per_request"), _load(x.get("machine"))]
            if "error" not in x else [x["variant"], "error", x["error"][-200:], "", "", "", "", "",
                                      ""]
            for x in h["variants"]]
    return [
        "## HTTP clients for `http-request` actions (measurement only)", "",
        f"{h['n']} GETs of {h['url']} at the runner's concurrency ({h['concurrency']}; a "
        "quarter as many one at a time), streamed and capped as "
        "runner_svc/actions/http_request.py reads them; each variant in its own process.", "",
        *_table(["client", "version", "in flight", "ok", "requests/s",
                 "client CPU ms / request",
                 "latency ms p50 / p95 / p99", "target server CPU ms / request", "load, busy"],
                rows),
    ]


def _scaleout(r: dict[str, Any]) -> list[str]:
    s = r.get("scaleout")
    if not s:
        return []
    rows = [[x["runners"], x["n"], x.get("runner_per_s"), x.get("steady_per_s"),
             x.get("finished_before_all_up"), _cpu(x), _load(x.get("machine"))]
            for x in s["runners"]]
    apis = s["apis"]
    two, fill = apis["two_api_e2e"], apis["two_api_fill"]
    return [
        f"## Scale-out ({s['partitions']} partitions)", "",
        *_table(["runner processes", "backlog", "drain executions/s", "steady /s (20th-90th "
                 "percentile finish)", "finished before all were up", "CPU ms / execution (of "
                 "the rest)", "load, busy"], rows),
        *_table(["API processes", "e2e executions/s (1 runner, wrk 32 connections)",
                 "triggers/s with no runner (fill)", "CPU ms / execution (e2e)", "load, busy"], [
            [1, apis.get("one_api_e2e_per_s"), apis.get("one_api_triggers_per_s"), "see "
             "throughput", ""],
            [2, two.get("e2e_per_s"), fill.get("triggers_per_s"), _cpu(two),
             _load(two.get("machine"))],
        ]),
    ]


def _cost(r: dict[str, Any]) -> list[str]:
    c = r.get("cost")
    if not c:
        return []
    names = list(c["growth"])
    rows = [[x["workflows"], x["executions"], x["hot_executions"],
             *[x["p99_ms"].get(n) for n in names], x["insert_s"], _load(x.get("machine"))]
            for x in c["levels"]]
    rows.append(["growth (largest / smallest)", "", "", *[c["growth"][n] for n in names], "",
                 ""])
    without = c.get("without_added_indexes")
    if without:
        rows.append([f"{without['workflows']:,} without {', '.join(without['dropped'])}",
                     without["executions"], "", *[without["p99_ms"].get(n) for n in names], "",
                     _load(without.get("machine"))])
    top = c["levels"][-1]
    plans = [_plan_row(p) for p in top["plans"]]
    return [
        "## Cost growth: p99 (ms) with more stored workflows and executions", "",
        *_table(["workflows", "executions", "of the hot workflow", *names, "insert s",
                 "load, busy"], rows),
        f"Query plans at {top['workflows']:,} workflows / {top['executions']:,} executions "
        "(explain, executionStats, of the commands the adapters sent):", "",
        *_table(["query", "winning plan", "index-served", "blocking sort", "keys examined",
                 "docs examined", "returned"], plans),
        "Not index-served at some size: " + (", ".join(c["not_index_served"]) or "none") + ".",
        "",
        *(["Without the indexes added in issue 15 (same data, same run):", "",
           *_table(["query", "winning plan", "index-served", "blocking sort", "keys examined",
                    "docs examined", "returned"],
                   [_plan_row(p) for p in without["plans"]])] if without else []),
    ]


def _plan_row(p: dict[str, Any]) -> list[Any]:
    return [p["query"], p["plan"], p["index_served"], "SORT" if p["blocking_sort"] else "–",
            p["keys_examined"], p["docs_examined"], p["returned"]]


def _scale(r: dict[str, Any]) -> list[str]:
    x = r.get("scale")
    if not x:
        return []
    rows = [[s["n"], s["first_dispatch_s"],
             s["dispatch_s"] if s["complete"] else f"~{s['dispatch_s']} (extrapolated: "
             f"{s['dispatched']} in {r['meta'].get('scale_cap_s')} s)", s["dispatch_per_s"],
             s["scheduled_in_db"], s["rss_idle_mb"], s["rss_peak_mb"], s["known_before_due"],
             _cpu(s), _load(s.get("machine"))]
            for s in x["sizes"]]
    return [
        "## Scheduler scale: N periodic workflows due at the same instant (no runner)", "",
        *_table(["N", "first dispatch s", "all dispatched s", "dispatches/s", "scheduled in DB",
                 "RSS idle MB", "RSS peak MB", "known before due", "CPU ms / dispatch",
                 "load, busy"], rows),
        "Times from the instant they became due, read off the scheduler's dispatch counter "
        "every 0.1 s (so late by up to that); one fresh scheduler process per N. CPU: "
        "from before the due instant until the last dispatch, divided by the dispatches.", "",
    ]


def _precision(r: dict[str, Any]) -> list[str]:
    x = r.get("precision")
    if not x:
        return []
    return [
        "## Periodic timing precision", "",
        *_table(["workflows", "interval s", "runs counted / expected", "worst |diff|",
                 "p50 ms", "p95 ms", "p99 ms", "max ms", "load, busy"], [[
                     x["workflows"], x["interval_s"],
                     f"{x['runs_counted']} / {x['runs_expected']}", x["worst_run_diff"],
                     x["p50_ms"], x["p95_ms"], x["p99_ms"], x["max_ms"],
                     _load(x.get("machine"))]]),
        "Lateness = execution created_at - its grid slot (created_at + k * interval).", "",
        "![lateness](lateness.png)", "",
    ]


def slim(results: dict[str, Any]) -> dict[str, Any]:
    """The results without raw samples (for printing)."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in RAW_KEYS}
        return value

    return strip(results)  # type: ignore[no-any-return]
