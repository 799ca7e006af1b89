"""Benchmarks, run as `python -m zoo.bench NAME` (see `--help`).

Speed lives here, never in tests: each benchmark reports ratios to an anchor
measured in the same process.
"""
