"""results.json and report.md: our figures beside the ceilings of the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.config import TARGETS

RAW_KEYS = ("samples_ms", "sent_offsets_s", "samples")


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


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _pcts(p: dict[str, Any] | None) -> str:
    if not p or not p.get("n"):
        return "n/a"
    return f"{p['p50']} / {p['p95']} / {p['p99']} (max {p['max']})"


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
            ["libraries", ", ".join(f"{k} {v}" for k, v in machine.get("libraries", {}).items())],
            ["load average at start / end",
             f"{machine.get('load_avg_at_start')} / {meta.get('load_avg_at_end')}"],
        ]),
        "Kafka, the database, the three services and this benchmark share these cores; "
        "whatever else runs on the machine competes too (the CPU busy share below is "
        "machine-wide).", "",
        *_table(["part", "seconds", "CPU busy % (all cores)", "load avg 1 min at end"], [
            [part, t["seconds"], t["cpu_busy_pct"], t["load_avg_1m"]]
            for part, t in meta.get("part_timing", {}).items()
        ]),
        "## Targets (issue 5)", "",
        *_table(["target", "limit", "measured", "verdict"], [
            [t["text"], t["limit"], t["value"],
             {True: "met", False: "**missed**", None: "n/a"}[t["met"]]]
            for t in r.get("targets", [])
        ]),
    ]
    for section in (_ceilings, _throughput, _latency, _scale, _precision):
        lines += section(r)
    if r.get("errors"):
        lines += ["## Errors", ""]
        for part, error in r["errors"].items():
            lines += [f"### {part}", "", "```", error.strip(), "```", ""]
    lines += ["## Settings of the services", "",
              "`" + " ".join(f"{k}={v}" for k, v in meta["service_env"].items()) + "`", ""]
    return lines


def _ceilings(r: dict[str, Any]) -> list[str]:
    c = r.get("ceilings")
    if not c:
        return []
    db, kafka = c["db"], c["kafka"]
    return [
        "## Ceilings of the infrastructure (this run)", "",
        *_table(["ceiling", "value", "latency ms p50 / p95 / p99"], [
            [f"DB find_one_and_update CAS, {db['concurrency']} in flight (ops/s)",
             db["ops_per_s"], _pcts(db["latency_ms"])],
            ["DB find_one_and_update CAS, 1 in flight (ops/s)", db["single_ops_per_s"],
             _pcts(db["single_latency_ms"])],
            [f"Kafka produce, pipelined, {kafka['messages']} messages (msgs/s)",
             kafka["produce_msgs_per_s"], ""],
            ["Kafka produce -> consume, pipelined (msgs/s)",
             kafka["produce_consume_msgs_per_s"], ""],
            ["Kafka one message: produce acknowledged", "", _pcts(kafka["ack_ms"])],
            ["Kafka one message: produce -> consumed", "", _pcts(kafka["produce_to_consume_ms"])],
        ]),
        f"Kafka producer: {kafka.get('producer')}; consumer: fetch_max_wait 200 ms like the "
        f"runner's; {kafka['partitions']} partitions. DB ceiling: compare-and-set on "
        f"{db.get('documents', '?')} workflow documents flipping status like the runner's claim.",
        "",
    ]


def _throughput(r: dict[str, Any]) -> list[str]:
    t = r.get("throughput")
    if not t:
        return []
    rows = []
    for name, label in (("log", "one `log`, triggered while the runner runs"),
                        ("http", "one `http-request` to a local server, same"),
                        ("backlog", "one `log`, runner alone draining a backlog")):
        x = t[name]
        rate = x.get("e2e_per_s", x.get("runner_per_s"))
        rows.append([label, x["n"], x.get("trigger_per_s"), rate,
                     x.get("rt_runner"), x.get("rt_api"), x.get("db_ops_per_s"),
                     (x.get("adjacent_ceiling") or {}).get("ops_per_s"),
                     x.get("db_bound_per_s"), x.get("ratio_to_ceiling"),
                     x.get("ratio_to_first_ceiling"), x.get("runner_rss_steady_mb")])
    lines = [
        "## End-to-end throughput (one runner process)", "",
        *_table(["variant", "N", "triggers/s", "executions/s", "DB trips runner",
                 "DB trips API", "DB ops/s done", "DB CAS ceiling, same collection (ops/s)",
                 "DB-bound /s",
                 "ratio", "ratio vs first ceiling", "runner RSS MB"], rows),
        "executions/s: N / (last finished_at - first trigger sent); backlog: N / (last "
        "finished_at - first created_at). DB trips: commands per execution counted in the "
        "services with PyMongo command monitoring. DB-bound /s = the CAS ceiling measured "
        "on the same collection just before the run / DB trips per execution (runner + "
        "API, runner alone for the backlog); ratio = executions/s / DB-bound /s.", "",
        "CPU of each process during the run (% of one core) and DB commands by name:", "",
    ]
    for name in ("log", "http", "backlog"):
        lines.append(f"- {name}: CPU {t[name].get('cpu_pct')}")
        for service, counts in t[name]["commands"].items():
            lines.append(f"  - {service}: {counts}")
    return lines + [""]


def _latency(r: dict[str, Any]) -> list[str]:
    x = r.get("latency")
    if not x:
        return []
    return [
        "## Latency: trigger -> execution finished", "",
        *_table(["rate", "achieved", "sent / finished", "p50 ms", "p95 ms", "p99 ms", "max ms",
                 "trigger answer ms p50 / p95 / p99"], [[
            x["rate"], x["achieved_rate"], f"{x['sent']} / {x['finished']}", x["p50_ms"],
            x["p95_ms"], x["p99_ms"], x["max_ms"], _pcts(x["trigger_answer_ms"]),
        ]]),
        "![latency](latency.png)", "",
    ]


def _scale(r: dict[str, Any]) -> list[str]:
    x = r.get("scale")
    if not x:
        return []
    rows = [[s["n"], s["first_dispatch_s"],
             s["dispatch_s"] if s["complete"] else f"~{s['dispatch_s']} (extrapolated: "
             f"{s['dispatched']} in {r['meta'].get('scale_cap_s')} s)", s["dispatch_per_s"],
             s["scheduled_in_db"], s["rss_idle_mb"], s["rss_peak_mb"], s["known_before_due"],
             s["db_update_per_s"]["claim_filter"], s["db_update_per_s"]["workflow_id_only"],
             s["db_bound_dispatch_s"]]
            for s in x["sizes"]]
    return [
        "## Scheduler scale: N periodic workflows due at the same instant (no runner)", "",
        *_table(["N", "first dispatch s", "all dispatched s", "dispatches/s", "scheduled in DB",
                 "RSS idle MB", "RSS peak MB", "known before due",
                 "DB update/s, claim filter", "DB update/s, by workflow_id",
                 "DB-bound dispatch s"], rows),
        "Times from the instant they became due; one fresh scheduler process per N. "
        "DB update/s: update_one on the same collection just before (32 in flight, no-op "
        "$set) with the scheduler's claim filter, and with the unique key alone; "
        "DB-bound dispatch s = N / the first.", "",
    ]


def _precision(r: dict[str, Any]) -> list[str]:
    x = r.get("precision")
    if not x:
        return []
    return [
        "## Periodic timing precision", "",
        *_table(["workflows", "interval s", "runs counted / expected", "worst |diff|",
                 "p50 ms", "p95 ms", "p99 ms", "max ms"], [[
            x["workflows"], x["interval_s"], f"{x['runs_counted']} / {x['runs_expected']}",
            x["worst_run_diff"], x["p50_ms"], x["p95_ms"], x["p99_ms"], x["max_ms"],
        ]]),
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
