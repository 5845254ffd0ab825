"""Child process for the database tests: patch_all(), then one scenario against a real server.

    python tests/db_child.py DRIVER SCENARIO URL [--import-first]

Run in a subprocess because patching would leak into the rest of the suite. Prints one JSON
line with what the test asserts on; a failure is an exception (exit status 1).
DRIVER: psycopg, psycopg2, pg8000, pymysql, redis. SCENARIO: concurrent, errors, timeout,
killed, faults (the last three), redis_*. ``--import-first`` imports the driver before
patch_all() (late patching).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any
from urllib.parse import urlparse

DRIVER, SCENARIO, URL = sys.argv[1:4]
IMPORT_FIRST = "--import-first" in sys.argv
MODULES = {"psycopg": "psycopg", "psycopg2": "psycopg2", "pg8000": "pg8000.dbapi"}
MODULES.update(pymysql="pymysql", redis="redis")

if IMPORT_FIRST:
    importlib.import_module(MODULES[DRIVER])

import monkeypatch  # noqa: E402

monkeypatch.patch_all()

import hub  # noqa: E402

driver: Any = importlib.import_module(MODULES[DRIVER])
_url = urlparse(URL)


def connect() -> Any:
    """A new connection of DRIVER to the server."""
    if DRIVER in ("psycopg", "psycopg2"):
        conn = driver.connect(URL)
        conn.autocommit = True
        return conn
    if DRIVER == "pg8000":
        # No TLS on loopback: building a default SSLContext per connection costs 40-100 ms of
        # CPU (loading the CA store), which 50 connections would pay in a row.
        conn = driver.connect(
            user="postgres", host=_url.hostname, port=_url.port, ssl_context=False
        )
        conn.autocommit = True
        return conn
    if DRIVER == "pymysql":
        return driver.connect(
            host=_url.hostname,
            port=_url.port,
            user="root",
            database="mysql",
            autocommit=True,
            ssl_disabled=True,
        )
    raise ValueError(DRIVER)


def sleep_sql(seconds: float) -> str:
    if DRIVER == "pymysql":
        return f"SELECT SLEEP({seconds})"
    return f"SELECT pg_sleep({seconds})"


def query(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


def execute(conn: Any, sql: str) -> None:
    cur = conn.cursor()
    try:
        cur.execute(sql)
    finally:
        cur.close()


def backend_id(conn: Any) -> int:
    sql = "SELECT CONNECTION_ID()" if DRIVER == "pymysql" else "SELECT pg_backend_pid()"
    return query(conn, sql)[0][0]


def kill_sql(ident: int) -> str:
    return f"KILL {ident}" if DRIVER == "pymysql" else f"SELECT pg_terminate_backend({ident})"


class Ticker:
    """A greenlet that ticks every 10 ms: proof that the hub kept running."""

    def __init__(self) -> None:
        self.ticks = 0
        self.greenlet = hub.spawn(self._run)

    def _run(self) -> None:
        while True:
            hub.sleep(0.01)
            self.ticks += 1

    def stop(self) -> int:
        self.greenlet.kill()
        return self.ticks


def concurrent(n: int = 50, seconds: float = 0.3) -> dict[str, Any]:
    connecting = [hub.spawn(connect) for _ in range(n)]  # the handshakes overlap too
    hub.joinall(connecting, raise_error=True)
    conns = [g.value for g in connecting]
    ticker = Ticker()
    start = time.monotonic()
    jobs = [hub.spawn(query, c, sleep_sql(seconds)) for c in conns]
    hub.joinall(jobs, raise_error=True)
    elapsed = time.monotonic() - start
    ticks = ticker.stop()
    for c in conns:
        c.close()
    return {"elapsed": elapsed, "ticks": ticks, "n": len(jobs)}


def errors() -> dict[str, Any]:
    conn = connect()
    error = driver.ProgrammingError if DRIVER == "pymysql" else driver.DatabaseError
    try:
        query(conn, "SELECT * FROM no_such_table")
    except error as exc:
        raised = type(exc).__module__.split(".")[0]
    else:
        raise AssertionError("no error")
    after = query(conn, "SELECT 42")[0][0]
    conn.close()
    return {"raised_from": raised, "after": after}


def timeout() -> dict[str, Any]:
    conn = connect()
    ticker = Ticker()
    start = time.monotonic()
    if DRIVER == "pymysql":
        execute(conn, "SET SESSION max_statement_time = 0.2")
    else:
        execute(conn, "SET statement_timeout = 200")
    try:
        query(conn, sleep_sql(5))
    except driver.DatabaseError as exc:
        raised = type(exc).__name__
    else:
        raise AssertionError("the statement timeout did not cancel the query")
    if DRIVER == "pymysql":
        execute(conn, "SET SESSION max_statement_time = 0")
    else:
        execute(conn, "SET statement_timeout = 0")
    elapsed = time.monotonic() - start
    after = query(conn, "SELECT 7")[0][0]
    conn.close()
    return {"raised": raised, "elapsed": elapsed, "after": after, "ticks": ticker.stop()}


def killed() -> dict[str, Any]:
    victim, killer = connect(), connect()
    ident = backend_id(victim)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            query(victim, sleep_sql(30))
        except Exception as exc:
            outcome["raised"] = f"{type(exc).__module__.split('.')[0]}.{type(exc).__name__}"

    start = time.monotonic()
    g = hub.spawn(run)
    hub.sleep(0.3)
    query(killer, kill_sql(ident))
    g.join(timeout=20)
    outcome["elapsed"] = time.monotonic() - start
    outcome["after"] = query(killer, "SELECT 5")[0][0]
    killer.close()
    return outcome


def redis_concurrent() -> dict[str, Any]:
    client = driver.Redis.from_url(URL, max_connections=450)
    client.flushdb()
    ticker = Ticker()

    def worker(i: int) -> tuple[Any, ...]:
        key = f"k{i}"
        client.set(key, i)
        with client.pipeline() as pipe:
            pipe.incr(key).incr(key).get(key)
            piped = pipe.execute()
        popped = client.blpop([f"list{i}"], timeout=5)  # pushed by a partner greenlet
        return int(client.get(key)), piped[-1], popped

    def pusher(i: int) -> None:
        hub.sleep(0.2)
        client.rpush(f"list{i}", f"v{i}")

    start = time.monotonic()
    n = 200
    jobs = [hub.spawn(worker, i) for i in range(n)] + [hub.spawn(pusher, i) for i in range(n)]
    hub.joinall(jobs, raise_error=True)
    elapsed = time.monotonic() - start
    results = [j.value for j in jobs[:n]]
    ok = all(r == (i + 2, str(i + 2).encode(), (f"list{i}".encode(), f"v{i}".encode()))
             for i, r in enumerate(results))  # fmt: skip
    return {"elapsed": elapsed, "ticks": ticker.stop(), "ok": ok, "n": n}


def redis_pubsub() -> dict[str, Any]:
    client = driver.Redis.from_url(URL)
    n = 50
    got: list[int] = []

    def subscriber(i: int) -> None:
        pubsub = client.pubsub()
        pubsub.subscribe("news")
        ready[i] = True
        while True:
            msg = pubsub.get_message(timeout=5)
            if msg is None:
                raise AssertionError("no message within 5 s")
            if msg["type"] == "message":
                got.append(int(msg["data"]))
                pubsub.close()
                return

    ready = [False] * n
    ticker = Ticker()
    subs = [hub.spawn(subscriber, i) for i in range(n)]
    while not all(ready) or client.pubsub_numsub("news")[0][1] < n:
        hub.sleep(0.02)
    receivers = client.publish("news", 17)
    hub.joinall(subs, raise_error=True)
    return {"receivers": receivers, "got": got, "ticks": ticker.stop()}


def redis_errors() -> dict[str, Any]:
    client = driver.Redis.from_url(URL, socket_timeout=0.3)
    client.set("text", "not a number")
    try:
        client.incr("text")
    except driver.ResponseError as exc:
        raised = type(exc).__name__
    after = client.ping()
    # A socket timeout: BLPOP longer than socket_timeout raises the driver's TimeoutError.
    start = time.monotonic()
    try:
        client.blpop(["empty-list"], timeout=3)
    except driver.TimeoutError as exc:
        timed_out = type(exc).__name__
    elapsed = time.monotonic() - start
    # A connection killed by the server mid-command: the driver's ConnectionError.
    victim = driver.Redis.from_url(URL, retry_on_timeout=False, retry=None)
    victim.client_setname("victim")
    outcome: dict[str, Any] = {}

    def blocked() -> None:
        try:
            victim.blpop(["never"], timeout=30)
        except driver.ConnectionError as exc:
            outcome["killed"] = type(exc).__name__

    g = hub.spawn(blocked)
    hub.sleep(0.3)
    killer = driver.Redis.from_url(URL)
    for c in killer.client_list():
        if c.get("name") == "victim":
            killer.client_kill_filter(_id=c["id"])
    g.join(timeout=10)
    return {"raised": raised, "after": after, "timed_out": timed_out, "elapsed": elapsed, **outcome}


def interrupted() -> dict[str, Any]:
    """A hub.Timeout around a query: the Timeout propagates; what is the connection good for?"""
    conn = connect()
    start = time.monotonic()
    try:
        with hub.Timeout(0.3):
            query(conn, sleep_sql(10))
    except hub.Timeout:
        raised = "Timeout"
    elapsed = time.monotonic() - start
    try:
        after: Any = query(conn, "SELECT 3")[0][0]
    except Exception as exc:
        after = type(exc).__name__
    return {"raised": raised, "elapsed": elapsed, "after": after}


def sqlalchemy_pool() -> dict[str, Any]:
    """100 greenlets share a QueuePool of 10 through scoped_session; then pool exhaustion."""
    import threading

    import sqlalchemy
    from sqlalchemy.orm import scoped_session, sessionmaker

    if not monkeypatch.is_module_patched("threading"):
        return {"skipped": "patch_all() does not patch threading yet (issue 14)"}
    url = URL.replace("postgresql://", "postgresql+psycopg://")
    engine = sqlalchemy.create_engine(url, pool_size=10, max_overflow=0, pool_timeout=30)
    Session = scoped_session(sessionmaker(bind=engine))
    sessions: list[Any] = []
    ticker = Ticker()

    def work(i: int) -> int:
        session = Session()  # this greenlet's own session (threading.local is greenlet-local)
        sessions.append(session)
        value = session.execute(sqlalchemy.text("SELECT :i FROM pg_sleep(0.1)"), {"i": i}).scalar()
        Session.remove()
        return value

    start = time.monotonic()
    jobs = [hub.spawn(work, i) for i in range(100)]
    hub.joinall(jobs, raise_error=True)
    elapsed = time.monotonic() - start
    values = sorted(j.value for j in jobs)
    distinct = len({id(s) for s in sessions})
    checked_out = engine.pool.checkedout()
    engine.dispose()

    # Exhaustion: two connections held, a third checkout waits cooperatively, then times out.
    small = sqlalchemy.create_engine(url, pool_size=2, max_overflow=0, pool_timeout=0.5)
    release = threading.Event()

    def hold() -> None:
        with small.connect():
            release.wait()

    holders = [hub.spawn(hold) for _ in range(2)]
    hub.sleep(0.2)
    ticks_before = ticker.ticks
    waited = time.monotonic()
    try:
        small.connect()
    except sqlalchemy.exc.TimeoutError as exc:
        exhausted = type(exc).__name__
    waited = time.monotonic() - waited
    ticks_during = ticker.ticks - ticks_before
    release.set()
    hub.joinall(holders, raise_error=True)
    small.dispose()
    return {
        "elapsed": elapsed, "values_ok": values == list(range(100)), "sessions": distinct,
        "checked_out": checked_out, "exhausted": exhausted, "waited": waited,
        "ticks_during": ticks_during, "ticks": ticker.stop(),
    }  # fmt: skip


def faults() -> dict[str, Any]:
    """errors, timeout and killed in one process (each child costs a second on a busy machine)."""
    return {"errors": errors(), "timeout": timeout(), "killed": killed()}


SCENARIOS = {
    "faults": faults,
    "sqlalchemy_pool": sqlalchemy_pool,
    "interrupted": interrupted,
    "concurrent": concurrent,
    "errors": errors,
    "timeout": timeout,
    "killed": killed,
    "redis_concurrent": redis_concurrent,
    "redis_pubsub": redis_pubsub,
    "redis_errors": redis_errors,
}

if __name__ == "__main__":
    result = SCENARIOS[SCENARIO]()
    if DRIVER == "psycopg":
        result["wait"] = driver.waiting.wait.__name__
    print(json.dumps(result))
