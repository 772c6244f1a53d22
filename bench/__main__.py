"""`python -m bench [--smoke] [--only PART,...] [--out DIR]`: run, then write the report."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import (
    ceilings,
    commands,
    cost,
    drive,
    first_runs,
    graphs,
    httpclients,
    latency,
    machine,
    overload,
    plots,
    precision,
    report,
    scale,
    scaleout,
    serving,
    throughput,
    waits,
)
from bench.config import FULL, PARTS, SMOKE, Sizes, non_defaults, service_env
from bench.infra import Context
from shared.infra.settings import Settings
from shared.web import serve

RESULTS = Path(__file__).resolve().parent / "results"
RUNNERS: dict[str, Callable[[Context], Awaitable[dict[str, Any]]]] = {
    "ceilings": ceilings.run, "commands": commands.run, "throughput": throughput.run,
    "latency": latency.run, "overload": overload.run, "serving": serving.run,
    "httpclients": httpclients.run, "scaleout": scaleout.run, "cost": cost.run,
    "precision": precision.run, "first_runs": first_runs.run,
    "scale": scale.run, "fanout": graphs.run, "waits": waits.run,
}
ALWAYS = ("ceilings", "commands")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes: checks the suite runs, not the speed")
    parser.add_argument("--only", default="",
                        help=f"comma-separated parts of {', '.join(PARTS)} "
                             f"({' and '.join(ALWAYS)} always run)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results directory (default bench/results, smoke: .../smoke)")
    parser.add_argument("--size", action="append", default=[], metavar="FIELD=N",
                        help="override one size of bench/config.py's Sizes (repeatable), "
                             "e.g. --size waits_n=2000")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy profiles (next to the report; slows them down): API and "
                             "runner in the throughput runs, scheduler and runner during the "
                             "wakes, the scheduler during the scale dispatch")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.only.split(",") if p.strip()] or list(PARTS)
    unknown = set(chosen) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; choose from {PARTS}")
    args.parts = [p for p in PARTS if p in ALWAYS or p in chosen]
    args.out = args.out or (RESULTS / "smoke" if args.smoke else RESULTS)
    try:
        args.sizes = with_sizes(SMOKE if args.smoke else FULL, args.size)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def with_sizes(sizes: Sizes, overrides: list[str]) -> Sizes:
    """`sizes` with FIELD=N overrides (numbers only: the tuple sizes stay as they are)."""
    known = {f.name: f for f in dataclasses.fields(sizes)}
    changes: dict[str, Any] = {}
    for item in overrides:
        name, _, value = item.partition("=")
        current = getattr(sizes, name, None) if name in known else None
        if not isinstance(current, int | float) or isinstance(current, bool):
            raise ValueError(f"--size {item!r}: not a numeric size of {sorted(known)}")
        changes[name] = type(current)(value)
    return dataclasses.replace(sizes, **changes)


async def run(args: argparse.Namespace, argv: list[str]) -> int:
    override = os.environ.get("RUNNER_CONCURRENCY")
    concurrency = int(override or Settings().runner_concurrency)
    ctx = Context(
        sizes=args.sizes, smoke=args.smoke,
        mongo_url=os.environ.get("DATABASE_URL", "mongodb://127.0.0.1:27017"),
        kafka_url=os.environ.get("KAFKA_URL", "127.0.0.1:9092"), concurrency=concurrency,
        concurrency_override=int(override) if override else None,
        workdir=Path(tempfile.mkdtemp(prefix="bench-logs-")),
        profile_dir=args.out if args.profile else None,
    )
    env = service_env(ctx.concurrency_override)
    started = time.monotonic()
    results: dict[str, Any] = ctx.results
    results["meta"] = {
        "mode": "smoke" if args.smoke else "full",
        "command": shlex.join([".venv/bin/python", "-m", "bench", *argv]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"), "parts": args.parts,
        "runner_concurrency": concurrency, "service_env": env,
        "non_default_settings": non_defaults({**os.environ, **env}),
        "generator": drive.wrk_version() or "python (wrk unavailable)",
        "scale_cap_s": ctx.sizes.scale_cap_s,
        "size_overrides": args.size,
        "service_logs": str(ctx.workdir),
    }
    errors: dict[str, str] = {}
    timing: dict[str, dict[str, float]] = results["meta"].setdefault("part_timing", {})
    try:
        results["machine"] = await machine.describe(ctx.mongo, ctx.kafka_url)
        for part in args.parts:
            print(f"[bench] {part} ...", flush=True)
            part_started, cpu = time.monotonic(), psutil.cpu_times()
            try:
                results[part] = await RUNNERS[part](ctx)
            except Exception:
                errors[part] = traceback.format_exc()
                print(f"[bench] {part} FAILED:\n{errors[part]}", file=sys.stderr, flush=True)
            timing[part] = {
                "seconds": round(time.monotonic() - part_started, 1),
                "cpu_busy_pct": _busy_pct(cpu, psutil.cpu_times()),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
            print(f"[bench] {part} done: {timing[part]}", flush=True)
    finally:
        await ctx.close()
    results["errors"] = errors
    if errors:
        print(f"[bench] service logs kept in {ctx.workdir}", file=sys.stderr)
    else:
        shutil.rmtree(ctx.workdir, ignore_errors=True)
        results["meta"].pop("service_logs", None)
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    results["meta"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = report.evaluate(results)
    args.out.mkdir(parents=True, exist_ok=True)
    if "latency" in results:
        plots.latency(results["latency"], args.out / "latency.png")
    if "precision" in results:
        plots.lateness(results["precision"], args.out / "lateness.png")
    if "waits" in results:
        plots.waits(results["waits"], args.out / "waits.png")
    path = report.write(results, args.out)
    print(path.read_text())
    print(f"[bench] report: {path}")
    return 1 if errors else 0


def _busy_pct(before: Any, after: Any) -> float:
    """Share of all cores' time spent busy between two psutil.cpu_times() readings."""
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    total = sum(after) - sum(before)
    return round(100 * (1 - idle / total), 1) if total > 0 else 0.0


def main() -> None:
    argv = sys.argv[1:]
    # The services' event loop (uvloop when installed): the client-side figures measured in
    # this process, such as the ceilings' CPU per DB command, are then what a service pays.
    sys.exit(serve.run(run(parse(argv), argv)))


if __name__ == "__main__":
    main()
