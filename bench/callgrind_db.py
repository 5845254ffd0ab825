"""User-space instructions per database command, counted by callgrind: the A/B figure for drivers.

    python bench/callgrind_db.py [--toolkits greenpatch,gevent] [--only redis ...]
                                 [--conns 10] [--ops 1000,3000] [--python PATH]

Wall-clock rates are noisy on a shared machine; an instruction count is not. Each workload runs
its client under ``valgrind --tool=callgrind`` twice, with two operation counts, and reports the
difference in instructions divided by the difference in operations (connection set-up, imports
and start-up cancel out). Only the client is counted: the servers (redis-server, PostgreSQL,
started once by tools/dbservers.py on loopback) run outside valgrind.

- ``redis``: redis-py under the toolkit's patching, ``--conns`` greenlets on one client's pool,
  each looping SET then GET (bench/servers/db_sync.py's loop); an operation is one command.
- ``pg``: psycopg 3, ``--conns`` greenlets on a connection each, ``SELECT 1``.
- ``rlock``, ``lock``: the uncontended ``with threading.RLock():`` / ``with threading.Lock():``
  block under the toolkit's patching (redis-py takes its pool's RLock twice per command); an
  operation is one acquire and one release.

Use a Python that has the toolkits and drivers installed (``.venv-bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = ("redis", "pg", "rlock", "lock")


def _redis(spawn: Any, joinall: Any, url: str, ops: int, conns: int) -> None:
    import redis

    client = redis.Redis.from_url(url, max_connections=conns)

    def worker(i: int) -> None:
        key = f"bench:{i}"
        for _ in range(ops // conns // 2):
            client.set(key, b"y" * 16)
            client.get(key)

    joinall([spawn(worker, i) for i in range(conns)])
    client.close()


def _pg(spawn: Any, joinall: Any, url: str, ops: int, conns: int) -> None:
    import psycopg

    def worker() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(ops // conns):
                conn.execute("SELECT 1").fetchone()

    joinall([spawn(worker) for _ in range(conns)])


def _lock(kind: str, ops: int) -> None:
    import threading

    lock = threading.RLock() if kind == "rlock" else threading.Lock()
    for _ in range(ops):
        with lock:
            pass


def child(toolkit: str, workload: str, url: str, ops: int, conns: int) -> None:
    sys.path.insert(0, os.path.join(HERE, "servers"))
    from _toolkit import use

    spawn, joinall = use(toolkit)
    if workload == "redis":
        _redis(spawn, joinall, url, conns * 2, conns)  # the same warm-up at both counts
        _redis(spawn, joinall, url, ops, conns)
    elif workload == "pg":
        _pg(spawn, joinall, url, conns, conns)
        _pg(spawn, joinall, url, ops, conns)
    else:
        _lock(workload, 100)
        _lock(workload, ops)
    print(json.dumps({"ops": ops}))


def count(python: str, toolkit: str, workload: str, url: str, ops: int, conns: int) -> list[int]:
    """Instructions of each thread of one run, the main thread first."""
    sys.path.insert(0, HERE)
    from callgrind_echo import callgrind_threads

    cmd = [python, os.path.abspath(__file__), "--conns", str(conns)]
    cmd += ["--child", toolkit, workload, url, str(ops)]
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return callgrind_threads(cmd, env)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toolkits", default="greenpatch,gevent")
    parser.add_argument("--only", action="append", choices=WORKLOADS, help="repeatable")
    parser.add_argument("--conns", type=int, default=10, help="greenlets (redis, pg)")
    parser.add_argument("--ops", default="1000,3000", help="the two operation counts")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        toolkit, workload, url, ops = args.child
        child(toolkit, workload, url, int(ops), args.conns)
        return
    sys.path.insert(0, HERE)
    sys.path.insert(0, ROOT)
    from callgrind_echo import per_op_text

    from tools import dbservers

    low, high = (int(n) for n in args.ops.split(","))
    with contextlib.ExitStack() as stack:
        for workload in args.only or WORKLOADS:
            url = "-"
            if workload == "redis":
                url = stack.enter_context(dbservers.run_redis()).url
            elif workload == "pg":
                url = stack.enter_context(dbservers.run_postgres()).url
            for toolkit in args.toolkits.split(","):
                a = count(args.python, toolkit, workload, url, low, args.conns)
                b = count(args.python, toolkit, workload, url, high, args.conns)
                text = per_op_text(a, b, high - low, "op")
                print(f"{workload:<8} {toolkit:<12} {text}", flush=True)


if __name__ == "__main__":
    main()
