"""The subprocess client: many children at once, or one big communicate().

    python subprocess_sync.py TOOLKIT run COUNT
    python subprocess_sync.py TOOLKIT communicate MEGABYTES

After the toolkit line this is the program a user would write with the blocking stdlib. ``run``
starts COUNT ``subprocess.run(["true"])`` at once, one greenlet (or thread) each, and reports the
wall time from the first spawn to the last join. ``communicate`` pushes MEGABYTES through
``cat`` and back with one ``Popen.communicate()`` and reports the seconds it took, and the CPU
seconds this process and ``cat`` used meanwhile (on a shared machine the steadier figure).
Prints one JSON object.
"""

import sys

from _toolkit import use

spawn, joinall = use(sys.argv[1], needs=("subprocess",))

import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402  (after patching, as a user's program would)
import time  # noqa: E402


def run_many(count: int) -> dict:
    failures = []

    def one() -> None:
        if subprocess.run(["true"]).returncode != 0:
            failures.append(1)

    one()  # warm up: imports, the first fork
    start = time.perf_counter()
    joinall([spawn(one) for _ in range(count)])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "count": count, "errors": len(failures)}


def _cpu() -> float:
    # This process (every thread) and its reaped children: here, cat.
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def communicate(megabytes: int) -> dict:
    data = b"x" * (megabytes << 20)
    cpu = _cpu()
    start = time.perf_counter()
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, _ = p.communicate(data)
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "megabytes": megabytes,
        "errors": int(out != data),
    }


if __name__ == "__main__":
    mode, n = sys.argv[2], int(sys.argv[3])
    print(json.dumps(run_many(n) if mode == "run" else communicate(n)), flush=True)
