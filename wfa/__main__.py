"""`python -m wfa`: the same entry point as the `wfa` console script."""

from wfa.cli import main

main()
