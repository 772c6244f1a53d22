"""freeze_startup_heap: what is alive at start-up leaves the collector; later cycles do not."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from shared.web.serve import freeze_startup_heap
import workflows_svc.main

freeze_startup_heap()
frozen = gc.get_freeze_count()

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a
del a, b
print(frozen, gc.collect())
"""


def test_startup_objects_are_frozen_and_later_cycles_are_still_collected() -> None:
    # In a process of its own: freezing this test process would keep its garbage for good.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, timeout=60)
    frozen, collected = (int(word) for word in out.stdout.split())
    assert frozen > 20_000  # the service's modules, classes and functions
    assert collected >= 2  # the cycle made after the freeze
