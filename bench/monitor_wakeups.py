"""What each wake-up of greenpatch's blocking-monitor watchdog costs the hub's thread, natively.

    PYTHONPATH=. python bench/monitor_wakeups.py [--seconds 2] [--rounds 3] [--limit 0.1]

The watchdog's price is not in the hub's instructions (callgrind sees almost none) but in the
GIL: a waking watchdog waits for the switch interval, then makes the busy hub's thread hand the
GIL over and wait until the watchdog has it. This runs a tight ``sleep(0)`` loop on the hub,
stamping each turn, while a watchdog samples at one period per limit (what the monitor does)
and, alternately, at four (what it did until 2026-12-01), and records when each sample ran. The
loop's gap that contains a sample, less the loop's median gap, is that wake-up's stall. It
prints the wake-ups per second, the median stall and the stalls' share of the wall clock, and
that share for as many random moments (the gaps the machine's load makes anyway, which a
sample falling in one counts too).

Measures the mechanism through hub._watchdog (its period constant and its progress hook), so it
lives here, not in the tests. On a loaded machine the OS's preemptions of the hub's thread that
happen to contain a sample count too: compare the two rows of one round, not rounds.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import statistics
import sys
import time

import hub
from hub import _watchdog


def _stalls(stamps: list[float], moments: list[float], usual: float) -> list[float]:
    """For each moment, the loop's gap that contains it, less the usual gap."""
    stalls = []
    for w in moments:
        i = bisect.bisect_left(stamps, w)
        if 0 < i < len(stamps):
            stalls.append(stamps[i] - stamps[i - 1] - usual)
    return stalls


def run(periods: int, seconds: float, limit: float) -> tuple[float, float, float, float]:
    """(wake-ups per second, median stall in seconds, stalls' share of the wall clock, the
    share the same count of random moments gives: the gaps the machine's load makes anyway)."""
    _watchdog._PERIODS_PER_LIMIT = periods
    h = hub.get_hub()
    wakes: list[float] = []
    mono = time.monotonic

    def progress() -> int:
        wakes.append(mono())
        return h.loop_turns

    dog = _watchdog.Watchdog(h, limit, progress=progress, on_block=lambda *a: None)
    stamps: list[float] = []
    dog.start()
    end = mono() + seconds
    while True:
        hub.sleep(0)
        t = mono()
        stamps.append(t)
        if t > end:
            break
    dog.stop()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    usual = statistics.median(gaps)
    stalls = _stalls(stamps, wakes[1:], usual)  # the first sample is taken before the loop
    # A control: as many moments, at random, with no sample there. A sample that falls in a gap
    # another process made (the hub's thread preempted) counts that gap, which the monitor did
    # not cause; the control counts those at the rate the load makes them.
    rng = random.Random(len(stamps))
    control = _stalls(stamps, [rng.uniform(stamps[0], stamps[-1]) for _ in stalls], usual)
    if not stalls:
        return len(wakes) / seconds, 0.0, 0.0, 0.0
    return (
        len(wakes) / seconds,
        statistics.median(stalls),
        sum(stalls) / seconds,
        sum(control) / seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=0.1)
    args = parser.parse_args()
    print(f"watchdog at a {args.limit:g} s limit, switch interval {sys.getswitchinterval():g} s")
    for r in range(args.rounds):
        for periods in (4, 1) if r % 2 == 0 else (1, 4):
            rate, stall, share, control = run(periods, args.seconds, args.limit)
            print(
                f"  round {r + 1}: {periods} sample(s) per limit: {rate:5.1f} wake-ups/s, "
                f"stall per wake-up median {stall * 1e6:7.1f} us, stalls {share:.2%} of the time"
                f" (random moments instead: {control:.2%})"
            )


if __name__ == "__main__":
    main()
