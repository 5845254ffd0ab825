"""The blocking monitor's price, counted by callgrind and split the way it is paid.

    python bench/callgrind_monitor.py [--toolkits greenpatch,gevent] [--limit 0.1]
                                      [--seconds 5] [--rate N] [--python PATH]

A monitor costs in two ways, and valgrind distorts only one of them:

- **per switch**, in the hub's thread: whatever the loop does more while it is watched (gevent's
  monitor traces every greenlet switch; greenpatch's does nothing there). bench/micro.py's
  ``sleep0`` against ``sleep0_monitor_on``, main thread only, instructions per ``sleep(0)``: exact
  whatever the machine's load.
- **per second**, in the watchdog's thread: its wake-ups follow the wall clock, which valgrind
  stretches some 50 times, so counted per operation they are overstated as much (and at valgrind's
  pace a spawn loop of a thousand greenlets really does block the hub for 0.1 s, so reports are
  written that a native run never writes). Counted per second of wall clock they are not: a
  probe keeps the hub busy switching for ``--seconds`` with the monitor on, and the watchdog
  thread's instructions divided by the seconds are what it executes per second natively too.

The native share is then the watchdog's instructions per second against what the hub's thread
executes in a second: its instructions per ``sleep(0)`` times the native ``sleep(0)`` rate
(``--rate``; measured here without valgrind when not given, which is only a scale, so load matters
little). Use a Python that has the toolkits installed (``.venv-bench``) to compare with gevent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def probe(toolkit: str, seconds: float, limit: float) -> None:
    """The child: the monitor on, ten greenlets switching for ``seconds`` of wall clock."""
    sys.path.insert(0, HERE)
    from micro import Toolkit

    tk = Toolkit(toolkit)
    tk.monitor(limit)
    end = time.monotonic() + seconds
    switches = [0]

    def worker() -> None:
        sleep = tk.sleep
        while time.monotonic() < end:
            sleep(0)
            switches[0] += 1

    start = time.monotonic()
    tk.joinall([tk.spawn(worker) for _ in range(10)])
    print(json.dumps({"seconds": time.monotonic() - start, "switches": switches[0]}))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def native_rate(python: str, toolkit: str) -> float:
    """sleep(0) per second without valgrind: the median of three short runs."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from micro import Toolkit, sleep0; "
        "tk = Toolkit(sys.argv[2]); sleep0(tk, 0.05); "
        "print(min(t for _, t in [sleep0(tk, 0.3) for _ in range(3)]) / 90000)"
    )
    import subprocess

    out = subprocess.run(
        [python, "-c", code, HERE, toolkit],
        check=True,
        stdout=subprocess.PIPE,
        env=_env(),
        text=True,
    ).stdout
    return 1.0 / float(out.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, HERE)
    from callgrind_echo import callgrind_threads
    from callgrind_micro import count

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toolkits", default="greenpatch,gevent")
    parser.add_argument("--limit", type=float, default=0.1, help="the monitor's limit (s)")
    parser.add_argument("--seconds", type=float, default=5.0, help="the probe's wall clock")
    parser.add_argument("--scales", default="0.02,0.1", help="sleep0's two scales")
    parser.add_argument("--rate", type=float, help="native sleep(0)/s (measured if not given)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe[0], float(args.probe[1]), float(args.probe[2]))
        return
    low, high = (float(s) for s in args.scales.split(","))
    print(f"blocking monitor at {args.limit:g} s, main thread = the hub's")
    for toolkit in args.toolkits.split(","):
        per_op = {}
        for workload in ("sleep0", "sleep0_monitor_on"):
            a, ops_a = count(args.python, toolkit, workload, low)
            b, ops_b = count(args.python, toolkit, workload, high)
            per_op[workload] = (
                (b[0] - a[0]) / (ops_b - ops_a),
                (sum(b) - sum(a)) / (ops_b - ops_a),
            )
        off, on = per_op["sleep0"][0], per_op["sleep0_monitor_on"][0]
        on_all = per_op["sleep0_monitor_on"][1]
        print(
            f"  {toolkit:<12} per sleep(0), main thread: off {off:,.0f}, on {on:,.0f} "
            f"({(on - off) / off:+.1%}); all threads with it on {on_all:,.0f}"
            " (valgrind's pace: overstated)",
            flush=True,
        )
        cmd = [args.python, os.path.abspath(__file__), "--probe", toolkit]
        cmd += [str(args.seconds), str(args.limit)]
        threads, stdout = callgrind_threads(cmd, _env())
        seconds = json.loads(stdout.strip().splitlines()[-1])["seconds"]
        watchdog = sum(threads[1:]) / seconds
        rate = args.rate if args.rate else native_rate(args.python, toolkit)
        share = watchdog / (rate * on)
        print(
            f"  {toolkit:<12} watchdog: {watchdog:,.0f} instructions per second of wall clock; "
            f"against the hub's {rate * on:,.0f} per second at a native {rate:,.0f} sleep(0)/s: "
            f"{share:.3%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
