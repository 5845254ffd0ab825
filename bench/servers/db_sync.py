"""The database client benchmarks: many greenlets doing round trips to PostgreSQL or Redis.

    python db_sync.py TOOLKIT pg URL CONNS DURATION      # psycopg 3: SELECT 1, one conn each
    python db_sync.py TOOLKIT redis URL CONNS DURATION   # redis-py: SET then GET, shared pool

After the toolkit line this is the program a user would write. Every greenlet first connects
(and does one round trip), then all of them loop until DURATION seconds have passed. Prints one
JSON object: operations per second (a SELECT, a SET or a GET each count one), the count, and
the CPU time this process used meanwhile (the client's own cost per operation, which a busy
machine distorts much less than the rate).
"""

import sys

from _toolkit import use

spawn, joinall = use(sys.argv[1])

import json  # noqa: E402
import time  # noqa: E402


def pg_worker(url: str, state: dict) -> int:
    import psycopg  # after patching, as a user's program would

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT 1").fetchone()
        state["ready"] += 1
        while not state["go"]:
            time.sleep(0.001)
        n, deadline = 0, state["deadline"]
        while time.monotonic() < deadline:
            conn.execute("SELECT 1").fetchone()
            n += 1
        return n


def redis_worker(client, i: int, state: dict) -> int:
    key = f"bench:{i}"
    client.set(key, b"x" * 16)
    state["ready"] += 1
    while not state["go"]:
        time.sleep(0.001)
    n, deadline = 0, state["deadline"]
    while time.monotonic() < deadline:
        client.set(key, b"y" * 16)
        client.get(key)
        n += 2
    return n


def main() -> None:
    kind, url, conns, duration = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    state = {"ready": 0, "go": False, "deadline": 0.0}
    if kind == "pg":
        workers = [spawn(pg_worker, url, state) for _ in range(conns)]
    else:
        import redis

        client = redis.Redis.from_url(url, max_connections=conns)
        workers = [spawn(redis_worker, client, i, state) for i in range(conns)]
    while state["ready"] < conns:  # every connection made before the clock starts
        time.sleep(0.005)
    start, cpu_start = time.monotonic(), time.process_time()
    state["deadline"] = start + duration
    state["go"] = True
    joinall(workers)
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu_start
    ops = sum(w.value or 0 for w in workers)  # greenpatch's and gevent's Greenlet.value
    report = {"rate": ops / elapsed, "ops": ops, "seconds": elapsed, "cpu_seconds": cpu}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
