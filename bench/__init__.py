"""Benchmark suite (issues 5 and 15): `python -m bench [--smoke] [--only PART,...] [--profile]`.

Every run measures the infrastructure's raw ceilings (DB compare-and-set with
find_one_and_update and update_one, Kafka produce -> consume) and our figures in the same
run, on the same machine, with the services' default settings and HTTP load from wrk
(bench/drive.py); each figure carries the CPU every process spent and the machine's load.
It writes `bench/results/report.md` (+ `results.json`, `latency.png`, `lateness.png`).
"""
