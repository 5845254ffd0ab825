"""Micro-benchmarks: greenpatch against gevent (and any other toolkit with the same API shape).

    python bench/micro.py [--quick] [--rounds N] [--toolkits greenpatch,gevent] [--only NAME]

Each (workload, toolkit, round) runs in a fresh interpreter, so one toolkit's state (its hub, its
garbage) cannot slow the other; toolkits alternate within each round, so a machine that gets
busier during the run penalises both alike. The table shows the median rate and the spread
(lowest to highest) over the rounds, and the ratio of each toolkit's median to gevent's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# -- toolkits: the same workload source, only the import differs ------------------------------


class Toolkit:
    """The handful of names the workloads use, bound to one toolkit."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "greenpatch":
            import hub

            self.spawn = hub.spawn
            self.sleep = hub.sleep
            self.joinall = hub.joinall
            self.Event = getattr(hub, "Event", None)
            self.Queue = getattr(hub, "Queue", None)
            self.Semaphore = getattr(hub, "Semaphore", None)
            self.monitor = _greenpatch_monitor
            self.monitor_stop = _greenpatch_monitor_stop
        elif name == "gevent":
            import gevent
            import gevent.event
            import gevent.lock
            import gevent.queue

            self.spawn = gevent.spawn
            self.sleep = gevent.sleep
            self.joinall = gevent.joinall
            self.Event = gevent.event.Event
            self.Queue = gevent.queue.Queue
            self.Semaphore = gevent.lock.Semaphore
            self.monitor = _gevent_monitor
            self.monitor_stop = _gevent_monitor_stop
        else:
            raise SystemExit(f"unknown toolkit {name!r}")


def _greenpatch_monitor(limit: float) -> None:
    from hub import monitor

    monitor.start(limit)


def _greenpatch_monitor_stop() -> None:
    from hub import monitor

    monitor.stop()


def _gevent_monitor(limit: float) -> None:
    import gevent

    gevent.config.max_blocking_time = limit
    # start_periodic_monitoring_thread() does nothing unless the monitor is enabled in the config
    # (what GEVENT_MONITOR_THREAD_ENABLE sets).
    gevent.config.monitor_thread = True
    gevent.get_hub().start_periodic_monitoring_thread()


def _gevent_monitor_stop() -> None:
    import gevent

    hub = gevent.get_hub()
    thread = hub.periodic_monitoring_thread
    if thread is not None:
        thread.kill()  # its loop ends at its next wake-up; it uninstalls its switch tracer now
        hub.periodic_monitoring_thread = None


# -- workloads: each returns (operations, seconds) ---------------------------------------------


def sleep0(tk: Toolkit, scale: float) -> tuple[int, float]:
    """sleep(0) round trips per second, 1,000 greenlets each yielding in a loop."""
    greenlets, rounds = 1000, max(1, int(300 * scale))

    def worker() -> None:
        sleep = tk.sleep
        for _ in range(rounds):
            sleep(0)

    start = time.perf_counter()
    tk.joinall([tk.spawn(worker) for _ in range(greenlets)])
    return greenlets * rounds, time.perf_counter() - start


def sleep0_monitor_on(tk: Toolkit, scale: float) -> tuple[int, float]:
    """sleep0 with the blocking monitor on (0.1 s) throughout (callgrind_monitor.py's probe)."""
    tk.monitor(0.1)
    try:
        return sleep0(tk, scale)
    finally:
        tk.monitor_stop()


# Off/on pairs per sleep0_monitor process, each half some _MONITOR_HALF seconds of sleep0 at
# scale 1 (two watchdog samples at 0.1 s; the count of switches is fixed per process, from the
# rate measured first). Six pairs were too few: one half preempted by another process moved the
# median by more than the monitor costs; the median of sixteen moves by much less.
_MONITOR_PAIRS = 16
_MONITOR_HALF = 0.2
_MONITOR_LIMIT = 0.1


def _cpu_wait() -> float:
    """Seconds the calling thread has been runnable but waiting for a CPU that other processes
    held (Linux's schedstat; 0.0 elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _sleep0_for(tk: Toolkit, seconds: float) -> None:
    """sleep0 in small slices for about ``seconds`` of wall clock (not measured)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sleep0(tk, 0.01)


def sleep0_monitor(tk: Toolkit, scale: float) -> tuple[int, float, dict[str, Any]]:
    """sleep0 with the toolkit's blocking monitor on (0.1 s): the price of watching the hub.

    The rate is with the monitor on. The same process also runs sleep0 with it off, alternating
    off and on (and which comes first) ``_MONITOR_PAIRS`` times, and reports the median of the
    pairs' on/off ratios as ``on_off``: rates from separate processes, minutes apart on a shared
    machine, differ by more than the monitor costs; neighbours in one process do not.
    ``on_off_cpu`` is the same for the main thread's CPU time per switch (time.thread_time): the
    monitor's work in the hub's own thread (a per-switch hook); the wall clock adds what the
    hub's thread waits for the GIL while the watchdog samples. ``on_off_ran`` is the wall
    clock less the time the hub's thread waited for a CPU that other processes held (Linux):
    on a quiet machine the same as ``on_off``; on a busy one it drops the load's noise, and with
    it the part of each GIL hand-off that is the wait for the OS to run the thread again (which
    ``on_off`` keeps).
    """
    ops = 0
    seconds = 0.0
    ratios = []
    cpu_ratios = []
    ran_ratios = []
    n, t = sleep0(tk, 0.05)
    # sleep0's scale for a half of _MONITOR_HALF seconds at this rate (the same for every half).
    half = max(0.004, n / t * _MONITOR_HALF * min(scale, 1.0) / 300_000)
    for i in range(_MONITOR_PAIRS):
        wall: dict[bool, float] = {}
        cpu: dict[bool, float] = {}
        ran: dict[bool, float] = {}
        for on in (False, True) if i % 2 == 0 else (True, False):
            if on:
                tk.monitor(_MONITOR_LIMIT)
            # Half a watchdog period before the measured run, either way: a watchdog started at
            # the measured run's start would sample first a whole period in, so a run of 0.25 s
            # would hold two samples, not two and a half, and understate the monitor's price.
            _sleep0_for(tk, _MONITOR_LIMIT / 2)
            cpu0, wait0 = time.thread_time(), _cpu_wait()
            n, t = sleep0(tk, half)
            cpu[on] = (time.thread_time() - cpu0) / n
            ran[on] = n / max(t - (_cpu_wait() - wait0), 1e-9)
            if on:
                tk.monitor_stop()
                ops, seconds = ops + n, seconds + t
            wall[on] = n / t
        ratios.append(wall[True] / wall[False])
        cpu_ratios.append(cpu[False] / cpu[True])
        ran_ratios.append(ran[True] / ran[False])
    return (
        ops,
        seconds,
        {
            "on_off": statistics.median(ratios),
            "on_off_cpu": statistics.median(cpu_ratios),
            "on_off_ran": statistics.median(ran_ratios),
            "on_off_pairs": ratios,
        },
    )


def spawn_join(tk: Toolkit, scale: float) -> tuple[int, float]:
    """Greenlets spawned and joined per second, 100,000 at a time."""
    count = max(1000, int(100_000 * scale))

    def nothing() -> None:
        pass

    start = time.perf_counter()
    tk.joinall([tk.spawn(nothing) for _ in range(count)])
    return count, time.perf_counter() - start


def _best_of_3(tk: Toolkit, count: int, target: Callable[[], Any]) -> float:
    # Steady state: gevent's later rounds are faster than its first (its loop and free lists
    # warm up), so the best of three rounds in one process, after the driver's warm-up run.
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        tk.joinall([tk.spawn(target) for _ in range(count)])
        best = min(best, time.perf_counter() - start)
    return best


def spawn_join_steady(tk: Toolkit, scale: float) -> tuple[int, float]:
    """Greenlets spawned and joined per second, 100,000 at a time: best of 3 rounds."""
    count = max(1000, int(100_000 * scale))

    def nothing() -> None:
        pass

    return count, _best_of_3(tk, count, nothing)


#: Rounds each call runs (callgrind_micro.py divides by the operations of all of them).
spawn_join_steady.rounds = 3  # type: ignore[attr-defined]


def spawn_builtin(tk: Toolkit, scale: float) -> tuple[int, float]:
    """spawn(int) and join per second, 100,000 at a time, best of 3: the per-greenlet overhead
    without a Python frame for the target."""
    count = max(1000, int(100_000 * scale))
    return count, _best_of_3(tk, count, int)


spawn_builtin.rounds = 3  # type: ignore[attr-defined]


def _consumer_producer(q: Any, count: int) -> list[Callable[[], None]]:
    """A consumer and a producer of ``count`` items through ``q``."""

    def producer() -> None:
        put = q.put
        for i in range(count):
            put(i)

    def consumer() -> None:
        get = q.get
        for _ in range(count):
            get()

    return [consumer, producer]


def queue(tk: Toolkit, scale: float) -> tuple[int, float]:
    """Items per second through an unbounded Queue, one producer greenlet, one consumer."""
    count = max(1000, int(200_000 * scale))
    fns = _consumer_producer(tk.Queue(), count)
    start = time.perf_counter()
    tk.joinall([tk.spawn(fn) for fn in fns])
    return count, time.perf_counter() - start


def queue1(tk: Toolkit, scale: float) -> tuple[int, float]:
    """Items per second through a Queue(maxsize=1): every item is a hand-over between the two."""
    count = max(1000, int(100_000 * scale))
    fns = _consumer_producer(tk.Queue(1), count)
    start = time.perf_counter()
    tk.joinall([tk.spawn(fn) for fn in fns])
    return count, time.perf_counter() - start


def event(tk: Toolkit, scale: float) -> tuple[int, float]:
    """Event wake-ups per second: 1,000 greenlets wait on one Event per round; it is set."""
    waiters, rounds = 1000, max(2, int(100 * scale))
    events = [tk.Event() for _ in range(rounds)]
    woken = [0]

    def waiter() -> None:
        for ev in events:
            ev.wait()
            woken[0] += 1

    gs = [tk.spawn(waiter) for _ in range(waiters)]
    tk.sleep(0)  # every waiter is now blocked on events[0]
    start = time.perf_counter()
    for ev in events:
        ev.set()
        tk.sleep(0)  # runs after every woken waiter, which then wait on the next event
    tk.joinall(gs)
    elapsed = time.perf_counter() - start
    assert woken[0] == waiters * rounds, woken[0]
    return waiters * rounds, elapsed


def _ping_pong(ping: Any, pong: Any, count: int) -> list[Callable[[], None]]:
    """Two functions that hand ``ping`` and ``pong`` (held semaphores or locks) back and forth
    ``count`` times: each release wakes the other."""

    def a() -> None:
        for _ in range(count):
            ping.release()
            pong.acquire()

    def b() -> None:
        for _ in range(count):
            ping.acquire()
            pong.release()

    return [b, a]


def semaphore(tk: Toolkit, scale: float) -> tuple[int, float]:
    """Semaphore wake-ups per second: two greenlets hand two Semaphore(0)s back and forth."""
    count = max(1000, int(100_000 * scale))
    fns = _ping_pong(tk.Semaphore(0), tk.Semaphore(0), count)
    start = time.perf_counter()
    tk.joinall([tk.spawn(fn) for fn in fns])
    return 2 * count, time.perf_counter() - start


# -- patched threading: the stdlib's own threading and queue, after each toolkit's patch_all() --
# The same source runs on both sides; only the patch applied first differs (run_child applies it
# for every workload named thread_*).


def _patch_threads(toolkit: str) -> None:
    if toolkit == "greenpatch":
        import monkeypatch

        monkeypatch.patch_all()
    elif toolkit == "gevent":
        from gevent import monkey

        monkey.patch_all()


def _run_threads(fns: list[Callable[[], None]]) -> float:
    """Start a threading.Thread per function, join them all; the seconds it took."""
    import threading

    threads = [threading.Thread(target=fn) for fn in fns]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def thread_lock(tk: Toolkit, scale: float) -> tuple[int, float]:
    """threading.Lock hand-overs per second: two threading.Threads pass two Locks back and
    forth (each release wakes the other thread)."""
    import threading

    count = max(1000, int(50_000 * scale))
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire()
    pong.acquire()
    return 2 * count, _run_threads(_ping_pong(ping, pong, count))


def thread_queue1(tk: Toolkit, scale: float) -> tuple[int, float]:
    """Items per second through a stdlib queue.Queue(maxsize=1) between two threading.Threads."""
    import queue

    count = max(1000, int(50_000 * scale))
    return count, _run_threads(_consumer_producer(queue.Queue(1), count))


def thread_event(tk: Toolkit, scale: float) -> tuple[int, float]:
    """threading.Event wake-ups per second: 100 threading.Threads wait on one Event per round."""
    import threading

    waiters, rounds = 100, max(2, int(500 * scale))
    events = [threading.Event() for _ in range(rounds)]
    woken = [0]

    def waiter() -> None:
        for ev in events:
            ev.wait()
            woken[0] += 1

    threads = [threading.Thread(target=waiter) for _ in range(waiters)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    for ev in events:
        ev.set()
        time.sleep(0)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert woken[0] == waiters * rounds, woken[0]
    return waiters * rounds, elapsed


def thread_start_join(tk: Toolkit, scale: float) -> tuple[int, float]:
    """threading.Threads started and joined per second, 10,000 at a time."""
    count = max(500, int(10_000 * scale))

    def nothing() -> None:
        pass

    return count, _run_threads([nothing] * count)


WORKLOADS: dict[str, Callable[[Toolkit, float], tuple[Any, ...]]] = {
    "sleep0": sleep0,
    "sleep0_monitor": sleep0_monitor,
    "spawn_join": spawn_join,
    "spawn_join_steady": spawn_join_steady,
    "spawn_builtin": spawn_builtin,
    "queue": queue,
    "queue1": queue1,
    "event": event,
    "semaphore": semaphore,
    "thread_lock": thread_lock,
    "thread_queue1": thread_queue1,
    "thread_event": thread_event,
    "thread_start_join": thread_start_join,
}
#: Workloads for the callgrind scripts only (not rows of the table).
CALLGRIND_WORKLOADS: dict[str, Callable[[Toolkit, float], tuple[Any, ...]]] = {
    "sleep0_monitor_on": sleep0_monitor_on,
}
UNITS = {
    "sleep0": "switches/s",
    "sleep0_monitor": "switches/s",
    "spawn_join": "greenlets/s",
    "spawn_join_steady": "greenlets/s",
    "spawn_builtin": "greenlets/s",
    "queue": "items/s",
    "queue1": "items/s",
    "event": "wake-ups/s",
    "semaphore": "wake-ups/s",
    "thread_lock": "hand-overs/s",
    "thread_queue1": "items/s",
    "thread_event": "wake-ups/s",
    "thread_start_join": "threads/s",
}


# -- driver -------------------------------------------------------------------------------------


def run_child(toolkit: str, workload: str, scale: float) -> None:
    if workload.startswith("thread_"):
        _patch_threads(toolkit)
    tk = Toolkit(toolkit)
    fn = WORKLOADS[workload]
    fn(tk, scale / 10)  # warm up: imports, first hub, caches
    ops, seconds, *extra = fn(tk, scale)
    print(json.dumps({"ops": ops, "seconds": seconds, **(extra[0] if extra else {})}))


def measure(toolkit: str, workload: str, scale: float) -> float:
    """The workload's rate in a fresh interpreter (operations per second)."""
    result = measure_result(toolkit, workload, scale)
    return float(result["ops"] / result["seconds"])


def measure_result(toolkit: str, workload: str, scale: float) -> dict[str, Any]:
    """The child's whole result: ``ops``, ``seconds`` and what else the workload reports."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--child", toolkit, workload, str(scale)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{toolkit}/{workload} failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def available(toolkit: str) -> bool:
    module = {"greenpatch": "hub"}.get(toolkit, toolkit)
    probe = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": ROOT},
        check=False,
    )
    return probe.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round, no comparison")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--toolkits", default="greenpatch,gevent")
    parser.add_argument("--only", action="append", help="run only this workload (repeatable)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        run_child(args.child[0], args.child[1], float(args.child[2]))
        return 0

    scale = 0.05 if args.quick else 1.0
    rounds = 1 if args.quick else args.rounds
    toolkits = []
    for name in args.toolkits.split(","):
        if available(name):
            toolkits.append(name)
        else:
            print(f"note: {name} is not installed; skipped (pip install '.[bench]')")
    workloads = args.only or list(WORKLOADS)

    results: dict[str, dict[str, list[float]]] = {w: {t: [] for t in toolkits} for w in workloads}
    on_off: dict[str, list[float]] = {t: [] for t in toolkits}
    on_off_cpu: dict[str, list[float]] = {t: [] for t in toolkits}
    for r in range(rounds):
        for w in workloads:
            order = toolkits if r % 2 == 0 else list(reversed(toolkits))
            for t in order:
                result = measure_result(t, w, scale)
                results[w][t].append(result["ops"] / result["seconds"])
                if "on_off" in result:
                    on_off[t].append(result["on_off"])
                if "on_off_cpu" in result:
                    on_off_cpu[t].append(result["on_off_cpu"])

    print(f"\nPython {sys.version.split()[0]}, {rounds} round(s), median (min-max)")
    header = f"{'workload':<18} {'toolkit':<11} {'rate':>14} {'spread':>25} {'vs gevent':>10}"
    print(header)
    print("-" * len(header))
    summary: dict[str, Any] = {"python": sys.version.split()[0], "rounds": rounds, "results": {}}
    for w in workloads:
        medians = {t: statistics.median(v) for t, v in results[w].items() if v}
        base = medians.get("gevent")
        for t, values in results[w].items():
            med = medians[t]
            ratio = f"{med / base:.2f}x" if base else "-"
            spread = f"{min(values):,.0f}-{max(values):,.0f}"
            print(f"{w:<18} {t:<11} {med:>14,.0f} {spread:>25} {ratio:>10}")
        print(f"{'':<18} ({UNITS.get(w, 'ops/s')})")
        summary["results"][w] = {"unit": UNITS.get(w, "ops/s"), "rates": results[w]}
    if any(on_off.values()):
        print(
            f"\nsleep0, blocking monitor on vs off, interleaved in each process "
            f"({_MONITOR_PAIRS} pairs; median of the rounds' medians, spread over the rounds; "
            f"cpu: the main thread's CPU time per switch):"
        )
        for t, values in on_off.items():
            if values:
                med = statistics.median(values) - 1
                cpu = on_off_cpu[t]
                cpu_text = f", cpu {statistics.median(cpu) - 1:+.1%}" if cpu else ""
                print(
                    f"  {t:<11} {med:+7.1%}  ({min(values) - 1:+.1%} to {max(values) - 1:+.1%})"
                    f"{cpu_text}"
                )
        summary["sleep0_monitor_on_off"] = on_off
        summary["sleep0_monitor_on_off_cpu"] = on_off_cpu
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
