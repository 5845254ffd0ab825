"""The startup workload: how long ``python -c '<patch line>'`` takes, from exec to exit.

Every toolkit pays it once per process: each gunicorn worker, each script, each test run. The
command is a fresh interpreter that imports the toolkit and patches the stdlib, and nothing else;
"floor" is ``python -c pass``, the interpreter's own start-up in the same environment.

The benchmark children normally run with PYTHONDONTWRITEBYTECODE=1 (procs.child_env()), which
would make the greenpatch checkout compile its modules from source in every run while gevent's
and eventlet's site-packages have their .pyc files from pip. Here bytecode is written, into
bench/build/pycache (PYTHONPYCACHEPREFIX, so the checkout stays clean), and one unmeasured run
per toolkit writes it first: every toolkit starts from bytecode, as an installed program does.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

from . import procs
from .procs import Failed

TOOLKITS = ["greenpatch", "gevent", "eventlet", "floor"]

PATCH_LINES = {
    "greenpatch": "import monkeypatch; monkeypatch.patch_all()",
    "gevent": "from gevent import monkey; monkey.patch_all()",
    "eventlet": "import eventlet; eventlet.monkey_patch()",
    "floor": "pass",
}


def _env() -> dict[str, str]:
    env = procs.child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(procs.BUILD, "pycache")
    for name in ("GREENPATCH_MAX_BLOCKING_TIME", "GEVENT_MONITOR_THREAD_ENABLE"):
        env.pop(name, None)
    return env


def measure(toolkit: str, runs: int, cpu: int | None) -> tuple[float, dict[str, Any]]:
    """Median wall milliseconds of ``runs`` fresh interpreters (after one warm-up run)."""
    cmd = [sys.executable, "-c", PATCH_LINES[toolkit]]
    env = _env()
    times = []
    with procs.pinned_here(cpu):
        for i in range(runs + 1):
            started = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                lines = proc.stderr.strip().splitlines()
                raise Failed(lines[-1] if lines else f"exit status {proc.returncode}")
            if i:  # the first run writes the bytecode
                times.append(elapsed * 1000)
    return statistics.median(times), {"runs": runs, "min_ms": round(min(times), 1)}
