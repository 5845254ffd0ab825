"""Fan out PostgreSQL queries from many greenlets: plain psycopg 3, made concurrent by patch_all().

    python samples/db_fanout.py POSTGRES_URL [--greenlets N] [--queries M] [--delay S]

Starts N greenlets, each with its own connection, each running M queries that take S seconds on
the server (``SELECT pg_sleep(S)``), and prints the total time next to what the same queries
would take one after another. Under patch_all() psycopg waits on the hub, so the queries of all
greenlets overlap: the total is close to M * S, not N * M * S.

Example: python samples/db_fanout.py postgresql://postgres@127.0.0.1:5432/postgres

A connection or query that fails is printed with psycopg's error and the exit code is 1.
"""

import monkeypatch

monkeypatch.patch_all()  # before psycopg is imported: from here on it waits on the hub

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import psycopg  # noqa: E402

import hub  # noqa: E402


def worker(url, queries, delay):
    """Plain psycopg: nothing here knows about greenlets. The backend's pid, or the error."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            for _ in range(queries):
                conn.execute("SELECT pg_sleep(%s)", (delay,))
            return conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    except psycopg.Error as exc:
        return exc


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="a PostgreSQL URL, e.g. postgresql://user@host:5432/db")
    parser.add_argument("--greenlets", type=int, default=20)
    parser.add_argument("--queries", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()

    start = time.monotonic()
    jobs = [hub.spawn(worker, args.url, args.queries, args.delay) for _ in range(args.greenlets)]
    hub.joinall(jobs)
    elapsed = time.monotonic() - start

    failed = [job.value for job in jobs if isinstance(job.value, Exception)]
    for exc in failed:
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    backends = {job.value for job in jobs if isinstance(job.value, int)}
    total = args.greenlets * args.queries
    print(f"{total} queries from {args.greenlets} greenlets on {len(backends)} connections")
    print(f"one after another: {total * args.delay:.2f} s")
    print(f"concurrently: {elapsed:.2f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
