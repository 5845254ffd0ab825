"""The benchmark harness still runs end to end (a few seconds; no speed is asserted).

`make bench-quick` is the full check, in the bench environment with the peers; this covers the
harness's own path (building the C tools, a server, the C load generator, micro.py, the table and
the JSON) with what every environment has: plain threads, the C reference and greenpatch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="the load generator needs gcc")
def test_bench_quick_path_runs(tmp_path):
    out = tmp_path / "quick.json"
    args = ["--quick", "--only", "echo 10x64 B", "--only", "micro sleep0"]
    args += ["--toolkits", "threads,c,greenpatch", "--json", str(out)]
    args += ["--chart", str(tmp_path / "chart.png")]
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "echo 10x64 B" in result.stdout
    cases = {case["key"]: case for case in json.loads(out.read_text())["cases"]}
    echo = cases["echo 10x64 B"]["toolkits"]
    assert echo["threads"]["status"] == "ok", echo["threads"]["reason"]
    assert echo["c"]["status"] == "ok", echo["c"]["reason"]
    assert echo["threads"]["values"][0] > 0
    sleep0 = cases["micro sleep0"]["toolkits"]["greenpatch"]
    assert sleep0["status"] == "ok", sleep0["reason"]


def _bench_json(script: str, *args: str) -> dict:
    """Run a bench/ script with greenpatch importable; its last stdout line, parsed as JSON."""
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_callgrind_monitor_probe_and_thread_split():
    # What bench/callgrind_monitor.py runs under valgrind, run natively: the probe keeps the hub
    # switching with the monitor on for its wall-clock time. And the per-thread split it prints.
    probe = _bench_json("callgrind_monitor.py", "--probe", "greenpatch", "0.2", "0.1")
    assert probe["seconds"] >= 0.2 and probe["switches"] > 0
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        from callgrind_echo import per_op_text
    finally:
        sys.path.pop(0)
    assert per_op_text([100], [1100], 10, "op") == "       100 instructions/op"
    text = per_op_text([100, 50], [1100, 250], 10, "op")
    assert text == "       120 instructions/op (main thread 100, helper threads 20)"


def test_micro_sleep0_monitor_reports_the_interleaved_on_off_ratio():
    # The monitor row alternates the monitor off and on in one process and reports the median
    # ratio of the pairs besides its rate (bench/run.py's monitor line reads it).
    out = _bench_json("micro.py", "--child", "greenpatch", "sleep0_monitor", "0.01")
    assert out["ops"] > 0 and out["seconds"] > 0
    assert len(out["on_off_pairs"]) == 16
    assert out["on_off"] > 0 and out["on_off_cpu"] > 0
