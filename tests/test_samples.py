"""Every sample runs as documented: `python samples/NAME.py` prints what its docstring says."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_sample(name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "samples", name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def numbers(text: str) -> list[str]:
    return re.findall(r"^\d+$", text, re.MULTILINE)


def test_greenlet_switch_prints_one_to_six():
    result = run_sample("greenlet_switch.py")
    assert result.returncode == 0, result.stderr
    assert numbers(result.stdout) == ["1", "2", "3", "4", "5", "6"]


def test_spawn_sleep_prints_in_wakeup_order():
    result = run_sample("spawn_sleep.py")
    assert result.returncode == 0, result.stderr
    assert numbers(result.stdout) == ["1", "2", "3", "6", "5", "4"]
    seconds = float(re.search(r"done in ([\d.]+) s", result.stdout).group(1))
    assert 1.9 <= seconds < 10  # about 2 s: the sleeps overlap (generous upper bound)


def test_sync_vs_async():
    result = run_sample("sync_vs_async.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    sync_part, async_part = out.split("Asynchronous:")
    assert re.findall(r"task (\d+) done", sync_part) == [str(i) for i in range(1, 10)]
    assert sorted(int(n) for n in re.findall(r"task (\d+) done", async_part)) == list(range(1, 11))
    sync_total = float(re.search(r"synchronous total: ([\d.]+) s", out).group(1))
    async_total = float(re.search(r"asynchronous total: ([\d.]+) s", out).group(1))
    assert sync_total >= 4.5
    assert 0.5 <= async_total < sync_total / 2
