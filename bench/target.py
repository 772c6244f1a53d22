"""`python -m bench.target`: tests/target_server.py's TargetServer until stdin closes.

Its own process, so the benchmark's client work does not share a GIL with the server.
"""

from __future__ import annotations

import sys

from tests.target_server import TargetServer


def main() -> None:
    server = TargetServer().start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
