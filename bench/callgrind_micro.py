"""Instructions per operation of bench/micro.py's workloads, counted by callgrind: the A/B figure.

    python bench/callgrind_micro.py [--toolkits greenpatch,gevent] [--only semaphore ...]
                                    [--scales 0.02,0.1] [--python PATH]

Wall-clock rates are noisy on a shared machine; an instruction count is not. Each workload runs
under ``valgrind --tool=callgrind`` at two scales (after the same warm-up), and the difference in
instructions divided by the difference in operations is reported, so interpreter start-up,
imports and the warm-up cancel out. When helper threads run (``sleep0_monitor``'s watchdog, the
``thread_*`` workloads' threads) the figure is also split into the main thread's share and
theirs (see ``callgrind_echo.callgrind_threads``). Use a Python that has the toolkits installed
(``.venv-bench``) to compare with gevent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def child(toolkit: str, workload: str, scale: float) -> None:
    sys.path.insert(0, HERE)
    from micro import CALLGRIND_WORKLOADS, WORKLOADS, Toolkit

    if workload.startswith("thread_"):
        from micro import _patch_threads

        _patch_threads(toolkit)  # as micro.py's run_child: patched threading on both sides
    tk = Toolkit(toolkit)
    fn = WORKLOADS.get(workload) or CALLGRIND_WORKLOADS[workload]
    fn(tk, 0.01)  # the same warm-up at both scales: imports, first hub, caches
    ops = fn(tk, scale)[0]
    # The steady-state variants run several rounds per call and report one round's operations.
    print(json.dumps({"ops": ops * getattr(fn, "rounds", 1)}))


def count(python: str, toolkit: str, workload: str, scale: float) -> tuple[list[int], int]:
    """(instructions of each thread, the main thread first; operations) of one run."""
    sys.path.insert(0, HERE)
    from callgrind_echo import callgrind_threads

    cmd = [python, os.path.abspath(__file__), "--child", toolkit, workload, str(scale)]
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    per_thread, stdout = callgrind_threads(cmd, env)
    return per_thread, json.loads(stdout.strip().splitlines()[-1])["ops"]


def main() -> None:
    sys.path.insert(0, HERE)
    from callgrind_echo import per_op_text
    from micro import WORKLOADS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toolkits", default="greenpatch,gevent")
    parser.add_argument("--only", action="append", help="this workload only (repeatable)")
    parser.add_argument("--scales", default="0.02,0.1", help="the two scales")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], float(args.child[2]))
        return
    low, high = (float(s) for s in args.scales.split(","))
    for workload in args.only or list(WORKLOADS):
        for toolkit in args.toolkits.split(","):
            a, ops_a = count(args.python, toolkit, workload, low)
            b, ops_b = count(args.python, toolkit, workload, high)
            text = per_op_text(a, b, ops_b - ops_a, "op")
            print(f"{workload:<18} {toolkit:<12} {text}", flush=True)


if __name__ == "__main__":
    main()
