"""The benchmark harness behind ``bench/run.py``: processes, workloads, reporting (stdlib only)."""
