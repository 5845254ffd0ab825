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
