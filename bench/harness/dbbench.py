"""The database and task-queue workloads: psycopg 3, redis-py and a Celery worker.

The servers (PostgreSQL, Redis) are started once, the first time a case needs them, by
tools/dbservers.py (a temporary directory, a free loopback port) and stopped when the run ends.
A missing Debian package or Python driver makes the case's rows say "skipped", with the reason.

- **pg select1**: 50 greenlets on 50 connections, each looping ``SELECT 1`` (psycopg 3, its C
  extension; the wait function psycopg picks under each toolkit's patching).
- **redis getset**: 100 greenlets sharing one redis-py client (its connection pool), each
  looping SET then GET.
- **celery noop**: 2,000 no-op tasks queued in Redis, then one worker with 1,000 greenlets
  (greenpatch: ``-P custom`` with hub.celery:TaskPool under ``python -m monkeypatch``; gevent:
  ``-P gevent``) runs them; the figure is tasks per second from the first result stored to the
  last.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from . import procs
from .procs import Failed, Unsupported

sys.path.insert(0, procs.ROOT)  # the checkout: tools.dbservers
from tools import dbservers

TOOLKITS = ["greenpatch", "gevent"]
_servers: dict[str, Any] = {}
_stack = contextlib.ExitStack()
atexit.register(_stack.close)


def server(kind: str) -> Any:
    """The run's PostgreSQL or Redis server, started on first use."""
    if kind not in _servers:
        runner = {"postgres": dbservers.run_postgres, "redis": dbservers.run_redis}[kind]
        try:
            _servers[kind] = _stack.enter_context(runner())
        except dbservers.ServerMissing as exc:
            _servers[kind] = exc
    found = _servers[kind]
    if isinstance(found, Exception):
        raise Unsupported(str(found))
    return found


def _need(module: str, package: str) -> None:
    if not procs.python_can_import(module):
        raise Unsupported(f"{package} is not installed (pip install -e '.[bench]')")


def client_run(toolkit: str, kind: str, url: str, conns: int, duration: float, cpu: Any) -> Any:
    """One db_sync.py run; its JSON."""
    cmd = procs.python_cmd("db_sync.py", toolkit, kind, url, str(conns), str(duration))
    out = procs.run_json(cmd, cpu, duration + 120)
    if not out["ops"]:
        raise Failed("no operation finished in the measured window")
    return out


def _extra(out: dict[str, Any]) -> dict[str, Any]:
    """What the JSON keeps beside the rate: the count and the client's operations per CPU-s."""
    cpu = out.get("cpu_seconds", 0.0)
    return {"ops": out["ops"], "per_cpu_s": round(out["ops"] / cpu, 1) if cpu > 0 else 0.0}


def pg_run(toolkit: str, s: Any) -> Any:
    """SELECT 1 round trips per second, 50 greenlets on 50 connections."""
    _need("psycopg", "psycopg[binary]")
    out = client_run(toolkit, "pg", server("postgres").url, 50, s.duration, s.server_cpu)
    return out["rate"], _extra(out)


def redis_run(toolkit: str, s: Any) -> Any:
    """GET/SET per second, 100 greenlets on one client's pool."""
    _need("redis", "redis")
    out = client_run(toolkit, "redis", server("redis").url, 100, s.duration, s.server_cpu)
    return out["rate"], _extra(out)


_DB = [0]


def celery_run(toolkit: str, s: Any) -> Any:
    """No-op tasks per second through one worker of 1,000 greenlets."""
    _need("celery", "celery[redis]")
    tasks = 300 if s.quick else 2000
    from celery import Celery

    redis = server("redis")
    _DB[0] = _DB[0] % 15 + 1  # a fresh database per run: no leftovers from the last one
    url = f"redis://{redis.host}:{redis.port}/{_DB[0]}"
    client = Celery("client", broker=url, backend=url)
    try:
        backend = client.backend.client
        backend.flushdb()
        ids = [client.send_task("celery_app.noop").id for _ in range(tasks)]
        keys = [f"celery-task-meta-{i}" for i in ids]
        env = dict(procs.child_env(), BENCH_REDIS=url)
        common = ["worker", "-c", "1000", "-l", "warning", "--without-heartbeat"]
        common += ["--without-mingle", "--without-gossip", "-n", f"bench{_DB[0]}@%h"]
        if toolkit == "greenpatch":
            env["CELERY_CUSTOM_WORKER_POOL"] = "hub.celery:TaskPool"
            cmd = [sys.executable, "-m", "monkeypatch", "-m", "celery", "-A", "celery_app"]
            cmd += [*common, "-P", "custom"]
        else:
            cmd = [sys.executable, "-m", "celery", "-A", "celery_app", *common, "-P", "gevent"]
        log = os.path.join(procs.BUILD, f"celery-{toolkit}.log")
        os.makedirs(procs.BUILD, exist_ok=True)
        with open(log, "wb") as out, procs.pinned_here(s.server_cpu):
            proc = subprocess.Popen(
                cmd, cwd=procs.SERVERS, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            first = None
            while True:
                done = backend.exists(*keys)
                now = time.monotonic()
                if done and first is None:
                    first, first_done = now, done
                if done >= tasks:
                    break
                if proc.poll() is not None:
                    raise Failed(f"the worker exited with {proc.returncode} (see {log})")
                if now > deadline:
                    raise Failed(f"{done} of {tasks} tasks done after 120 s (see {log})")
                time.sleep(0.002)
            elapsed = now - first
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        client.close()
    return (tasks - first_done) / elapsed if elapsed > 0 else 0.0, {"tasks": tasks}
