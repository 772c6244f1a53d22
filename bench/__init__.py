"""Benchmark suite of issue 5: `python -m bench [--smoke] [--only PART,...]`.

Every run measures the infrastructure's raw ceilings (DB compare-and-set, Kafka produce ->
consume) and our figures in the same run, on the same machine, and writes
`bench/results/report.md` (+ `results.json`, `latency.png`, `lateness.png`).
"""
