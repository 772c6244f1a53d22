"""What the README says about counters is what the code counts (issue 13, #15)."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import REGISTRY

from runner_svc.consumer import ConsumerLoop
from tests.fakes import FakeMessageSource, Harness, ScriptedActionRunner, message

README = Path(__file__).resolve().parents[2] / "README.md"
COUNTERS = ("consumer_errors_total", "runner_skipped_requests_total")


def totals() -> dict[str, float]:
    """Each counter summed over its label values."""
    sums = dict.fromkeys(COUNTERS, 0.0)
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name in sums:
                sums[sample.name] += sample.value
    return sums


def metric_named_after(line: str, phrase: str) -> str | None:
    """The first `*_total` metric the line names after `phrase`."""
    found = re.search(r"`(\w+_total)`", line[line.index(phrase):])
    return found.group(1) if found else None


async def test_the_readme_names_the_counter_of_requests_for_unknown_workflow_ids() -> None:
    harness = Harness()
    source = FakeMessageSource([[message(0, "no-such-workflow")]])
    loop = ConsumerLoop(source=source, handle=harness.worker(ScriptedActionRunner()).run)
    before = totals()

    await loop.run_once()
    await loop.drain()

    grew = [name for name, value in totals().items() if value > before[name]]
    assert grew == ["runner_skipped_requests_total"]
    claims = [line for line in README.read_text().splitlines()
              if "unknown" in line and "_total`" in line]
    assert claims, "the README no longer says where unknown workflow ids are counted"
    for line in claims:
        assert metric_named_after(line, "unknown") == grew[0], line
