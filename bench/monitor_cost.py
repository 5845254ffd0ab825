"""Where the blocking monitor's wall-clock price comes from: a probe for one machine, one run.

    python bench/monitor_cost.py [--toolkits greenpatch,gevent] [--pairs 40] [--half 0.25]
                                 [--limit 0.1] [--only pairs,gaps,wakes]

Each measure runs in one process per toolkit (bench/micro.py's sleep0 workload throughout):

- ``pairs``: sleep0 with the monitor off and on, alternating (and which comes first) ``--pairs``
  times, each half some ``--half`` seconds long. Per half: the wall clock, the main thread's CPU
  time (``time.thread_time``), its context switches (``/proc/thread-self/status``: a voluntary
  one is the hub's thread giving up the CPU, here waiting for the GIL; an involuntary one is the
  OS preempting it for another process) and the time it waited for a CPU (schedstat). The
  CPU-time ratio is the monitor's work in the hub's thread (a per-switch hook shows there); the
  wall clock adds the GIL hand-offs' waits, and the load's noise.
- ``gaps``: ten greenlets switching; every gap over 20 us between two switches is recorded, off
  and on (the monitor's samples are a few extra gaps per second).
- ``wakes``: the price of one GIL hand-off alone. sleep0 runs while a plain thread wakes every
  0.1 s, 0.01 s, 0.001 s (a timed lock wait, then nothing: the least a watchdog's sample can
  do), in off/on pairs, at the default switch interval (5 ms) and at 1 ms
  (``sys.setswitchinterval``: how long a waking thread waits before it makes the GIL's holder
  drop it). The wall-clock share lost over the wakes per second is one hand-off's price.

Timings on a shared machine are noisy: the script prints the load average with its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _ctx_switches() -> tuple[int, int]:
    """The calling thread's (voluntary, involuntary) context switches so far (Linux only)."""
    try:
        with open("/proc/thread-self/status") as f:
            text = f.read()
    except OSError:
        return 0, 0
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.endswith("ctxt_switches"):
            values[key] = int(value)
    return values.get("voluntary_ctxt_switches", 0), values.get("nonvoluntary_ctxt_switches", 0)


def _schedstat() -> tuple[float, float]:
    """The calling thread's seconds on a CPU and seconds runnable but waiting for one (Linux
    schedstat; the wait is time other processes took, and each wake-up's latency)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            on_cpu, waiting = f.read().split()[:2]
        return int(on_cpu) / 1e9, int(waiting) / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0


def _timed(fn: Any) -> dict[str, float]:
    vol0, invol0 = _ctx_switches()
    _, rq0 = _schedstat()
    cpu0 = time.thread_time()
    wall0 = time.perf_counter()
    ops = fn()
    wall = time.perf_counter() - wall0
    cpu = time.thread_time() - cpu0
    _, rq1 = _schedstat()
    rq = rq1 - rq0
    vol1, invol1 = _ctx_switches()
    return {
        "ops": ops,
        "wall": wall,
        "cpu": cpu,
        "runq": rq,
        "vol": vol1 - vol0,
        "invol": invol1 - invol0,
    }


def _sleep0_ops(tk: Any, ops: int) -> Any:
    from micro import sleep0

    def run() -> int:
        n, _ = sleep0(tk, ops / 300_000)
        return n

    return run


def _rate_scale(tk: Any, half: float) -> int:
    """sleep(0)s that take some ``half`` seconds here and now."""
    from micro import sleep0

    n, t = sleep0(tk, 0.1)
    return max(10_000, int(n / t * half))


def child_pairs(toolkit: str, pairs: int, half: float, limit: float) -> dict[str, Any]:
    from micro import Toolkit

    tk = Toolkit(toolkit)
    ops = _rate_scale(tk, half)
    run = _sleep0_ops(tk, ops)
    run()
    rows = []
    for i in range(pairs):
        pair: dict[bool, dict[str, float]] = {}
        for on in (False, True) if i % 2 == 0 else (True, False):
            if on:
                tk.monitor(limit)
            pair[on] = _timed(run)
            if on:
                tk.monitor_stop()
        rows.append(pair)
    return {"rows": [{"off": p[False], "on": p[True]} for p in rows]}


class _Waker:
    """A real thread waking every ``interval`` s (a timed lock wait, then nothing: the least a
    watchdog's sample can do) until stopped; counts its wake-ups."""

    def __init__(self, interval: float) -> None:
        from hub._core import allocate_lock, start_new_thread

        self.interval = interval
        self.wakes = 0
        self.stopped = False
        self.lock = allocate_lock()
        self.lock.acquire()
        self.done = allocate_lock()
        self.done.acquire()
        start_new_thread(self._loop, ())

    def _loop(self) -> None:
        while not self.stopped:
            self.lock.acquire(True, self.interval)
            self.wakes += 1
        self.done.release()

    def stop(self) -> int:
        self.stopped = True
        self.lock.release()
        self.done.acquire()
        return self.wakes


def child_wakes(toolkit: str, pairs: int, half: float) -> dict[str, Any]:
    from micro import Toolkit

    tk = Toolkit(toolkit)
    ops = _rate_scale(tk, half)
    run = _sleep0_ops(tk, ops)
    run()
    out: dict[str, Any] = {}
    for switch in (0.005, 0.001):
        sys.setswitchinterval(switch)
        for interval in (0.1, 0.01, 0.001):
            rows = []
            for i in range(pairs):
                pair = {}
                for on in (False, True) if i % 2 == 0 else (True, False):
                    waker = _Waker(interval) if on else None
                    pair["on" if on else "off"] = _timed(run)
                    if waker is not None:
                        pair["on"]["wakes"] = waker.stop()
                rows.append(pair)
            out[f"{switch}/{interval}"] = rows
    sys.setswitchinterval(0.005)
    return out


def _gap_run(tk: Any, seconds: float, threshold: float) -> dict[str, Any]:
    """Ten greenlets switching for ``seconds``; every gap between two consecutive switches
    longer than ``threshold`` is recorded: the hub's thread stopped (preempted by another
    process, or waiting for the GIL while another thread holds it)."""
    clock = time.perf_counter
    gaps: list[float] = []
    end = clock() + seconds
    last = [clock()]
    count = [0]

    def worker() -> None:
        sleep = tk.sleep
        record = gaps.append
        while True:
            sleep(0)
            t = clock()
            gap = t - last[0]
            last[0] = t
            count[0] += 1
            if gap > threshold:
                record(gap)
            if t > end:
                return

    vol0, invol0 = _ctx_switches()
    cpu0 = time.thread_time()
    start = clock()
    tk.joinall([tk.spawn(worker) for _ in range(10)])
    wall = clock() - start
    vol1, invol1 = _ctx_switches()
    return {
        "wall": wall,
        "cpu": time.thread_time() - cpu0,
        "ops": count[0],
        "gaps": gaps,
        "vol": vol1 - vol0,
        "invol": invol1 - invol0,
    }


def child_gaps(toolkit: str, pairs: int, half: float, limit: float) -> dict[str, Any]:
    from micro import Toolkit

    tk = Toolkit(toolkit)
    _gap_run(tk, 0.1, 1.0)
    rows = []
    for i in range(pairs):
        pair = {}
        for on in (False, True) if i % 2 == 0 else (True, False):
            if on:
                tk.monitor(limit)
            pair["on" if on else "off"] = _gap_run(tk, half, 20e-6)
            if on:
                tk.monitor_stop()
        rows.append(pair)
    return {"rows": rows}


def _summary_gaps(rows: list[dict[str, Any]], limit: float) -> list[str]:
    out = []
    for side in ("off", "on"):
        wall = sum(r[side]["wall"] for r in rows)
        gaps = sorted(g for r in rows for g in r[side]["gaps"])
        lost = sum(gaps)
        vol = sum(r[side]["vol"] for r in rows) / wall
        invol = sum(r[side]["invol"] for r in rows) / wall
        q = statistics.quantiles(gaps, n=10) if len(gaps) > 10 else [0.0] * 9
        out.append(
            f"  {side:>3}: {len(gaps) / wall:7.1f} gaps/s > 20 us, {lost / wall:6.2%} of the wall "
            f"in them; gap median {statistics.median(gaps) * 1e6 if gaps else 0:.0f} us, "
            f"p90 {q[8] * 1e6:.0f} us; switches/s voluntary {vol:.1f}, involuntary {invol:.1f}; "
            f"rate {sum(r[side]['ops'] for r in rows) / wall:,.0f}/s"
        )
    w_on = sum(r["on"]["wall"] for r in rows)
    w_off = sum(r["off"]["wall"] for r in rows)
    extra_n = (
        sum(len(r["on"]["gaps"]) for r in rows) / w_on
        - sum(len(r["off"]["gaps"]) for r in rows) / w_off
    )
    extra_t = (
        sum(sum(r["on"]["gaps"]) for r in rows) / w_on
        - sum(sum(r["off"]["gaps"]) for r in rows) / w_off
    )
    out.append(
        f"  extra with the monitor: {extra_n:+.1f} gaps/s ({1 / limit:.0f} samples/s), "
        f"{extra_t:+.3%} of the wall, i.e. {extra_t * limit * 1e6:+.0f} us per sample"
    )
    return out


def _run_child(args: list[str]) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE, ROOT, env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _quartiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4)
    return f"{statistics.median(values) - 1:+.2%} (IQR {q[0] - 1:+.2%}..{q[2] - 1:+.2%})"


def _summary_pairs(rows: list[dict[str, dict[str, float]]], limit: float) -> list[str]:
    def rate(h: dict[str, float]) -> float:
        return h["ops"] / h["wall"]

    wall = [rate(r["off"]) / rate(r["on"]) for r in rows]  # time on / time off, per op
    cpu = [(r["on"]["cpu"] / r["on"]["ops"]) / (r["off"]["cpu"] / r["off"]["ops"]) for r in rows]
    seconds_on = sum(r["on"]["wall"] for r in rows)
    seconds_off = sum(r["off"]["wall"] for r in rows)
    vol = sum(r["on"]["vol"] - r["off"]["vol"] for r in rows) / seconds_on
    invol_on = sum(r["on"]["invol"] for r in rows) / seconds_on
    invol_off = sum(r["off"]["invol"] for r in rows) / seconds_off
    runq_on = sum(r["on"]["runq"] for r in rows) / seconds_on
    runq_off = sum(r["off"]["runq"] for r in rows) / seconds_off
    return [
        f"  wall time per op, on/off: {_quartiles(wall)}; "
        f"pooled {seconds_on / seconds_off - 1:+.2%}",
        f"  main thread CPU time per op, on/off: {_quartiles(cpu)}",
        f"  extra voluntary switches/s of the hub's thread: {vol:.1f} (samples/s at the limit: "
        f"{1 / limit:.0f}); involuntary/s off {invol_off:.1f}, on {invol_on:.1f}",
        f"  share of the wall waiting for a CPU (taken by other processes): off {runq_off:.1%}, "
        f"on {runq_on:.1%}",
    ]


def _summary_wakes(result: dict[str, Any]) -> list[str]:
    lines = []
    for key, rows in result.items():
        switch, interval = key.split("/")
        wall_on = sum(r["on"]["wall"] for r in rows)
        wakes = sum(r["on"]["wakes"] for r in rows) / wall_on
        vol = sum(r["on"]["vol"] - r["off"]["vol"] for r in rows) / wall_on
        cost = statistics.median(
            (r["on"]["wall"] / r["on"]["ops"]) / (r["off"]["wall"] / r["off"]["ops"]) - 1
            for r in rows
        )
        cpu = statistics.median(
            (r["on"]["cpu"] / r["on"]["ops"]) / (r["off"]["cpu"] / r["off"]["ops"]) - 1
            for r in rows
        )
        lines.append(
            f"  switch interval {float(switch) * 1e3:g} ms, timed wait {float(interval) * 1e3:g} "
            f"ms: {wakes:6.1f} wakes/s, {vol:6.1f} extra voluntary switches/s of the hub's "
            f"thread; wall {cost:+.2%} ({cost / wakes * 1e6:+.0f} us/wake), cpu {cpu:+.2%}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toolkits", default="greenpatch,gevent")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--half", type=float, default=0.25)
    parser.add_argument("--limit", type=float, default=0.1)
    parser.add_argument("--only", default="pairs,wakes")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, toolkit, pairs, half, *rest = args.child
        if kind == "gaps":
            res = child_gaps(toolkit, int(pairs), float(half), float(rest[0]))
        elif kind == "pairs":
            res = child_pairs(toolkit, int(pairs), float(half), float(rest[0]))
        else:
            res = child_wakes(toolkit, int(pairs), float(half))
        print(json.dumps(res))
        return 0
    raw: dict[str, Any] = {"load_before": os.getloadavg()}
    print(f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f} (1 min)")
    only = args.only.split(",")
    titles = {
        "pairs": "monitor ({limit:g} s) on vs off, {pairs} pairs",
        "gaps": "gaps between switches, monitor ({limit:g} s) off and on",
    }
    summaries = {"pairs": _summary_pairs, "gaps": _summary_gaps}
    for kind in [k for k in titles if k in only]:
        for toolkit in args.toolkits.split(","):
            res = _run_child([kind, toolkit, str(args.pairs), str(args.half), str(args.limit)])
            raw[f"{kind} {toolkit}"] = res
            print(f"{toolkit}: " + titles[kind].format(limit=args.limit, pairs=args.pairs) + ":")
            print("\n".join(summaries[kind](res["rows"], args.limit)))
    if "wakes" in only:
        toolkit = args.toolkits.split(",")[0]
        res = _run_child(["wakes", toolkit, str(args.pairs // 2), str(args.half / 2)])
        raw["wakes"] = res
        print(f"{toolkit} sleep0 with a plain thread waking (cost per wake-up):")
        print("\n".join(_summary_wakes(res)))
    raw["load_after"] = os.getloadavg()
    print(f"load average after: {raw['load_after'][0]:.2f}")
    if args.json:
        with open(args.json, "w") as out:
            out.write(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
