"""`--profile`: py-spy flame graphs of the services during a measured phase."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


def _py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


@asynccontextmanager
async def sampled(pids: dict[str, int], out: Path | None, tag: str) -> AsyncIterator[None]:
    """py-spy record each pid while the block runs: collapsed stacks in
    `profile-<tag>-<name>.txt` and the hottest frames in `...-top.txt`."""
    exe = _py_spy()
    if out is None or exe is None:
        yield
        return
    procs = await asyncio.to_thread(_spawn, exe, pids, out, tag)
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        await asyncio.to_thread(_reap, procs)
        for name in pids:
            await asyncio.to_thread(summarize, out / f"profile-{tag}-{name}.txt")


def _spawn(
    exe: str, pids: dict[str, int], out: Path, tag: str
) -> list[subprocess.Popen[bytes]]:
    out.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--rate", "200", "--nonblocking",
             "--format", "raw", "-o", str(out / f"profile-{tag}-{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]


def _reap(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def summarize(raw: Path, top: int = 25) -> Path | None:
    """Frames by inclusive and by self share of the CPU samples of a collapsed-stack file."""
    if not raw.exists():
        return None
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{raw.name}: {total} samples (CPU-active only)", "", "inclusive:"]
    lines += [f"{100 * n / total:6.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"{100 * n / total:6.1f}%  {f}" for f, n in own.most_common(top)]
    path = raw.with_name(raw.stem + "-top.txt")
    path.write_text("\n".join(lines) + "\n")
    return path
