"""The workloads: each case runs one toolkit once and returns its figure.

A ``Case`` is one line group of the table (say "echo 100 conns x 64 B"): which toolkits take
part, the unit, whether higher is better, and a function ``run(toolkit, settings) -> Sample``.
The driver calls it for every toolkit, alternating their order over the rounds.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import procs
from .procs import Failed

# The toolkits, in table order. "c" is the physical reference (echo and memory only); "floor" is
# the fetch benchmark's plain-stdlib yardstick (see fetch()).
GREEN = ["greenpatch", "gevent", "eventlet"]
SYNC = [*GREEN, "threads"]  # the stdlib-socket source in bench/servers/*_sync.py
ASYNC = ["asyncio", "uvloop"]  # the asyncio-streams source in bench/servers/*_asyncio.py
ALL_PYTHON = [*SYNC, *ASYNC]

# What must import for a toolkit to take part (threads and asyncio are the stdlib).
IMPORTS = {"greenpatch": "hub, monkeypatch", "gevent": "gevent", "eventlet": "eventlet"}
IMPORTS["uvloop"] = "uvloop"
# The wsgi group's servers: greenpatch is hub.wsgi, gevent is gevent.pywsgi, the gunicorn ones run
# one worker of that class (see bench/servers/wsgi_server.py).
WSGI = ["greenpatch", "gevent", "gunicorn-gevent", "gunicorn-greenpatch", "gunicorn-sync", "bjoern"]
IMPORTS["gunicorn-gevent"] = "gunicorn, gevent"
IMPORTS["gunicorn-greenpatch"] = "gunicorn, hub, monkeypatch"
IMPORTS["gunicorn-sync"] = "gunicorn"
IMPORTS["bjoern"] = "bjoern"


@dataclass
class Settings:
    """How long and how big; ``quick`` shrinks everything to about a second per measurement."""

    quick: bool = False
    warmup: float = 0.5
    duration: float = 2.0
    memory_conns: int = 10_000
    fetch_count: int = 1000
    fetch_delay_ms: int = 50
    micro_scale: float = 1.0
    server_cpu: int | None = None
    load_cpu: int | None = None
    notes: dict[str, str] = field(default_factory=dict)


@dataclass
class Sample:
    """One measurement: the figure the table shows, plus whatever else is worth keeping."""

    value: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    key: str
    group: str
    unit: str
    higher_is_better: bool
    toolkits: list[str]
    run: Callable[[str, Settings], Sample] | None  # None: read back from a results file
    # Shown under the group's rows: what the figure means.
    note: str = ""
    # Why every toolkit of the case is skipped (a missing tool), set before any run.
    skip: str = ""


def server_cmd(kind: str, toolkit: str, *args: str) -> list[str]:
    """The command that starts toolkit's ``kind`` server (echo or http)."""
    if toolkit == "c":
        return [procs.c_tool("echo_server")]
    family = "asyncio" if toolkit in ASYNC else "sync"
    return procs.python_cmd(f"{kind}_{family}.py", toolkit, *args)


def cpu_figures(operations: float, cpu: float, s: Settings) -> dict[str, float]:
    """The server's share of its core over the window, and operations per CPU second."""
    return {
        "server_cpu": round(cpu / s.duration, 3),
        "per_cpu_s": round(operations / cpu, 1) if cpu > 0 else 0.0,
    }


# -- echo and tls ---------------------------------------------------------------------------------


# The blocking monitors at 0.1 s, for the "monitor" echo case: greenpatch's patch_all() reads the
# first, gevent the other two.
MONITOR_ENV = (
    "GREENPATCH_MAX_BLOCKING_TIME=0.1",
    "GEVENT_MONITOR_THREAD_ENABLE=1",
    "GEVENT_MAX_BLOCKING_TIME=0.1",
)


# Off/on pairs of the monitor echo case per round.
_MONITOR_PAIRS = 3


def echo_case(conns: int, size: int, tls: bool = False, monitor: bool = False) -> Case:
    """Round trips per second with ``conns`` connections each keeping one message in flight.

    ``monitor``: with the toolkit's blocking monitor on (greenpatch and gevent only), measured
    alternately with it off (``on_off`` in the extras: the median on/off ratio of the pairs).
    """
    label = f"{size} B" if size < 1024 else f"{size // 1024} KiB"
    key = f"{'tls' if tls else 'echo'} {conns}x{label}" + (" monitor" if monitor else "")

    def run(toolkit: str, s: Settings) -> Sample:
        if not monitor:
            return once(toolkit, s, False)
        # Off and on alternately (which comes first alternates too), _MONITOR_PAIRS times, and
        # the median of the pairs' on/off ratios as ``on_off``: two rows measured minutes apart
        # on a shared machine differ by more than the monitor costs, neighbours much less.
        on_rates: list[float] = []
        ratios: list[float] = []
        sample = Sample(0.0)
        for i in range(1 if s.quick else _MONITOR_PAIRS):
            pair: dict[bool, float] = {}
            for on in (False, True) if i % 2 == 0 else (True, False):
                got = once(toolkit, s, on)
                pair[on] = got.value
                if on:
                    on_rates.append(got.value)
                    sample = got
            ratios.append(pair[True] / pair[False])
        sample.value = statistics.median(on_rates)
        sample.extra |= {"on_off": statistics.median(ratios), "on_off_pairs": ratios}
        return sample

    def once(toolkit: str, s: Settings, on: bool) -> Sample:
        extra_args: tuple[str, ...] = procs.self_signed_cert() if tls else ()
        cmd = server_cmd("echo", toolkit, *extra_args)
        if on:
            cmd = ["env", *MONITOR_ENV, *cmd]
        client = [procs.c_tool("echo_client"), "-c", str(conns), "-s", str(size)]
        client += ["-w", str(s.warmup), "-d", str(s.duration)] + (["-t"] if tls else [])
        with procs.Server(cmd, s.server_cpu) as server:
            timeout = s.warmup + s.duration + 30 + conns / 50
            out, cpu = procs.run_json_windowed(
                [*client, "-p", str(server.port)], s.load_cpu, timeout, server
            )
        if out["errors"]:
            raise Failed(f"{out['errors']} connection(s) lost during the run")
        if not out["roundtrips"]:  # a server that stalled after set-up: a hang, not a figure
            raise Failed("no round trip finished in the measured window")
        keep = ("mib_per_s", "p50_us", "p99_us", "roundtrips", "setup_seconds")
        return Sample(
            out["rate"], {k: out[k] for k in keep} | cpu_figures(out["roundtrips"], cpu, s)
        )

    toolkits = ALL_PYTHON if tls else [*ALL_PYTHON, "c"]
    note = f"{conns} connections, one {label} message in flight on each"
    if monitor:
        toolkits = GREEN[:2]
        note += ", blocking monitor on (0.1 s)"
    return Case(key, "tls" if tls else "echo", "round trips/s", True, toolkits, run, note=note)


# -- http -----------------------------------------------------------------------------------------

_REQS = re.compile(r"Requests/sec:\s*([\d.]+)")
_ERRS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def http_case(conns: int = 100) -> Case:
    """Requests per second from wrk against a keep-alive responder."""

    def wrk(port: int, seconds: int, s: Settings, server: procs.Server) -> str:
        cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", f"http://127.0.0.1:{port}/"]
        return procs.run_client(cmd, s.load_cpu, seconds + 30, server=server)

    def run(toolkit: str, s: Settings) -> Sample:
        # wrk counts whole seconds; its warm-up run is a second long whatever the settings.
        seconds = max(1, round(s.duration))
        with procs.Server(server_cmd("http", toolkit), s.server_cpu) as server:
            if not s.quick:
                wrk(server.port, 1, s, server)
            cpu = server.cpu_seconds()
            out = wrk(server.port, seconds, s, server)
            cpu = server.cpu_seconds() - cpu
        found = _REQS.search(out)
        if not found:
            raise Failed(f"no Requests/sec in wrk's output: {out[-200:]!r}")
        rate = float(found.group(1))
        errors = _ERRS.search(out)
        if errors and sum(int(n) for n in errors.groups()):
            raise Failed(f"wrk saw socket errors: {errors.group(0)}")
        if "Non-2xx" in out:
            raise Failed("wrk saw non-2xx answers")
        # wrk's window is its duration (connecting is part of it, and quick)
        return Sample(rate, cpu_figures(rate * seconds, cpu, Settings(duration=seconds)))

    return Case(
        f"http {conns} conns",
        "http",
        "requests/s",
        True,
        ALL_PYTHON,
        run,
        note=f"wrk, 1 thread, {conns} keep-alive connections, a 13-byte page",
        skip="" if shutil.which("wrk") else "wrk is not installed (apt-get install wrk)",
    )


# -- wsgi -----------------------------------------------------------------------------------------


def _process_tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants (a gunicorn arbiter and its worker)."""
    total = procs.cpu_seconds(pid)
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return total
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            continue
        for child in children:
            total += _process_tree_cpu(child)
    return total


def _wait_answering(server: procs.Server, timeout: float = 60.0) -> None:
    """Wait until the server answers an HTTP request (Failed if it does not in time)."""
    import http.client
    import time

    deadline = time.monotonic() + timeout
    while True:
        server.check_alive()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            conn.request("GET", "/")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise Failed(f"no answer from the server after {timeout:.0f} s")
        time.sleep(0.1)


def wsgi_case(app: str, conns: int = 100) -> Case:
    """Requests per second from wrk against a WSGI app on each server."""

    def run(toolkit: str, s: Settings) -> Sample:
        seconds = max(1, round(s.duration))
        cmd = procs.python_cmd("wsgi_server.py", toolkit, app)
        with procs.Server(cmd, s.server_cpu) as server:
            url = f"http://127.0.0.1:{server.port}/"
            wrk = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", url]
            _wait_answering(server)  # a gunicorn worker boots after the port is bound
            if not s.quick:
                procs.run_client([*wrk[:3], "-d1s", url], s.load_cpu, 31, server=server)
            assert server.proc is not None
            cpu = _process_tree_cpu(server.proc.pid)
            out = procs.run_client(wrk, s.load_cpu, seconds + 30, server=server)
            cpu = _process_tree_cpu(server.proc.pid) - cpu
        found = _REQS.search(out)
        if not found:
            raise Failed(f"no Requests/sec in wrk's output: {out[-200:]!r}")
        rate = float(found.group(1))
        if "Non-2xx" in out:
            raise Failed("wrk saw non-2xx answers")
        extra = cpu_figures(rate * seconds, cpu, Settings(duration=seconds))
        errors = _ERRS.search(out)
        if errors:
            extra["socket_errors"] = errors.group(0)  # gunicorn sync closes every connection
        return Sample(rate, extra)

    what = "a hello-world WSGI callable" if app == "hello" else "a Flask route"
    case = Case(f"wsgi {app}", "wsgi", "requests/s", True, WSGI, run)
    case.note = f"wrk, 1 thread, {conns} keep-alive connections, {what}"
    if not shutil.which("wrk"):
        case.skip = "wrk is not installed (apt-get install wrk)"
    return case


# -- fetch ----------------------------------------------------------------------------------------


def fetch_case(pool: bool = False) -> Case:
    """Wall time of COUNT concurrent urllib downloads, each answered after the delay.

    ``pool``: the same downloads through ``concurrent.futures.ThreadPoolExecutor`` (a worker
    per download) instead of one spawn each: the thread-based spelling, with threading patched
    on every green toolkit's side (issue 14).

    The ideal is the delay itself: every download waits at the same time. With 1,000 downloads
    no Python toolkit gets there, because urllib's own work (building each request, parsing each
    answer) needs one core for longer than the delay. The ``floor`` row is the attainable bound:
    the CPU time those downloads cost in plain stdlib, one after another from a server with no
    delay, or the delay if that is longer. A toolkit at the floor overlaps all the waiting and
    adds no work of its own.
    """

    def run(toolkit: str, s: Settings) -> Sample:
        floor = toolkit == "floor"
        cmd = [procs.c_tool("delay_server"), "0" if floor else str(s.fetch_delay_ms)]
        with procs.Server(cmd, s.load_cpu) as server:
            url = f"http://127.0.0.1:{server.port}/"
            args = ["threads", url, str(s.fetch_count), "serial"] if floor else None
            mode = ["pool"] if pool else []
            client = procs.python_cmd(
                "fetch_sync.py", *(args or [toolkit, url, str(s.fetch_count), *mode])
            )
            out = procs.run_json(client, s.server_cpu, 120, server=server)
        if out["errors"]:
            raise Failed(f"{out['errors']} download(s) failed, first: {out.get('first_error')}")
        delay = s.fetch_delay_ms / 1000
        seconds = max(delay, out["cpu_seconds"]) if floor else out["seconds"]
        extra = {"ideal_ms": s.fetch_delay_ms, "cpu_ms": out["cpu_seconds"] * 1000}
        return Sample(seconds * 1000, extra)

    return Case(
        "fetch pool" if pool else "fetch",
        "fetch",
        "ms (wall)",
        False,
        [*SYNC, "floor"],
        run,
        note="",  # set by build_cases(), which knows the count and the delay
    )


# -- subprocess -----------------------------------------------------------------------------------


def subprocess_cases() -> list[Case]:
    """100 concurrent ``subprocess.run(["true"])``, and 64 MB through ``cat`` with communicate."""

    def run_many(toolkit: str, s: Settings) -> Sample:
        count = 100
        out = procs.run_json(
            procs.python_cmd("subprocess_sync.py", toolkit, "run", str(count)), s.server_cpu, 120
        )
        if out["errors"]:
            raise Failed(f"{out['errors']} of {count} children failed")
        return Sample(out["seconds"] * 1000, {"count": count})

    def communicate(toolkit: str, s: Settings) -> Sample:
        megabytes = 64
        out = procs.run_json(
            procs.python_cmd("subprocess_sync.py", toolkit, "communicate", str(megabytes)),
            s.server_cpu,
            120,
        )
        if out["errors"]:
            raise Failed("the data came back changed")
        cpu = out.get("cpu_seconds", 0.0)
        extra = {"seconds": out["seconds"], "per_cpu_s": round(megabytes / cpu, 1) if cpu else 0.0}
        return Sample(megabytes / out["seconds"], extra)

    return [
        Case(
            "subprocess run x100",
            "subprocess",
            "ms (wall)",
            False,
            [*GREEN[:2], "threads"],
            run_many,
            note='100 concurrent subprocess.run(["true"]), one greenlet or thread each',
        ),
        Case(
            "subprocess communicate 64 MB",
            "subprocess",
            "MB/s",
            True,
            [*GREEN[:2], "threads"],
            communicate,
            note="64 MB to cat and back through one Popen.communicate()",
        ),
    ]


# -- memory ---------------------------------------------------------------------------------------


def memory_case() -> Case:
    """Resident memory per idle connection: N open connections, each held by a parked handler."""

    def run(toolkit: str, s: Settings) -> Sample:
        conns = s.memory_conns
        with procs.Server(server_cmd("echo", toolkit), s.server_cpu) as server:
            before = server.rss()
            holder = procs.hold_connections(server.port, conns, s.load_cpu, 60 + conns / 100)
            try:
                server.check_alive()
                after = server.rss()
            finally:
                procs.release(holder)
        per_conn = (after - before) / conns
        return Sample(per_conn, {"conns": conns, "rss_before": before, "rss_after": after})

    return Case(
        "memory",
        "memory",
        "bytes/conn",
        False,
        [*ALL_PYTHON, "c"],
        run,
        note="",  # set by build_cases()
    )


# -- micro ----------------------------------------------------------------------------------------


def micro_cases() -> list[Case]:
    """bench/micro.py's workloads, each a case of its own, run through micro.measure_result().

    Whatever workloads micro.py grows are picked up here without changes.
    """
    import micro  # bench/ is on sys.path: run.py lives there

    cases = []
    for name in micro.WORKLOADS:

        def run(toolkit: str, s: Settings, name: str = name) -> Sample:
            # micro.py runs the workload in a child; pin it like a server.
            with procs.pinned_here(s.server_cpu):
                try:
                    result = micro.measure_result(toolkit, name, s.micro_scale)
                except RuntimeError as exc:
                    lines = str(exc).strip().splitlines()
                    raise Failed(lines[-1] if lines else "failed")
            extra = {k: v for k, v in result.items() if k not in ("ops", "seconds")}
            return Sample(result["ops"] / result["seconds"], extra)

        doc = (micro.WORKLOADS[name].__doc__ or "").strip().splitlines()
        unit = micro.UNITS.get(name, "ops/s")
        note = doc[0].rstrip(".") if doc else name
        cases.append(Case(f"micro {name}", "micro", unit, True, GREEN[:2], run, note=note))
    return cases


# -- databases and task queues (bench/harness/dbbench.py) -----------------------------------------


def db_cases() -> list[Case]:
    """psycopg 3 SELECT 1, redis-py GET/SET and Celery no-op tasks, greenpatch against gevent."""
    from . import dbbench

    def wrap(fn: Callable[[str, Settings], Any]) -> Callable[[str, Settings], Sample]:
        def run(toolkit: str, s: Settings) -> Sample:
            value, extra = fn(toolkit, s)
            return Sample(value, extra)

        return run

    return [
        Case("db pg select1", "db", "round trips/s", True, dbbench.TOOLKITS,
             wrap(dbbench.pg_run), note="psycopg 3: 50 greenlets on 50 connections, SELECT 1"),
        Case("db redis getset", "db", "ops/s", True, dbbench.TOOLKITS,
             wrap(dbbench.redis_run), note="redis-py: 100 greenlets on one pool, SET then GET"),
        Case("celery noop", "db", "tasks/s", True, dbbench.TOOLKITS, wrap(dbbench.celery_run),
             note="2,000 no-op tasks (quick: 300), one worker of 1,000 greenlets, Redis broker"),
    ]  # fmt: skip


# -- startup (bench/harness/startup.py) ------------------------------------------------------------


def startup_case() -> Case:
    """``python -c '<patch line>'`` wall time, median of several fresh interpreters."""
    from . import startup

    def run(toolkit: str, s: Settings) -> Sample:
        value, extra = startup.measure(toolkit, 5 if s.quick else 20, s.server_cpu)
        return Sample(value, extra)

    note = "python -c 'import monkeypatch; monkeypatch.patch_all()' and peers; floor: -c pass"
    return Case("startup", "startup", "ms (wall)", False, startup.TOOLKITS, run, note=note)


def build_cases(s: Settings, only: list[str] | None = None) -> list[Case]:
    """Every case of the suite, in table order; ``only`` keeps the groups named in it."""
    cases = [
        echo_case(100, 64),
        echo_case(100, 64, monitor=True),
        echo_case(10, 64),
        echo_case(1000, 64),
        echo_case(100, 1024),
        echo_case(100, 65536),
        http_case(),
        wsgi_case("hello"),
        wsgi_case("flask"),
        fetch_case(),
        fetch_case(pool=True),
        *subprocess_cases(),
        *micro_cases(),
        memory_case(),
        echo_case(100, 64, tls=True),
        *db_cases(),
        startup_case(),
    ]
    for case in cases:
        if case.group == "fetch":
            case.note = (
                f"{s.fetch_count} downloads, {s.fetch_delay_ms} ms delay each: "
                f"ideal {s.fetch_delay_ms} ms; floor = their CPU cost in plain stdlib"
            )
            if case.key == "fetch pool":
                case.note += "; through ThreadPoolExecutor, threading patched"
        elif case.group == "memory":
            case.note = f"{s.memory_conns:,} idle connections, each held by its handler"
    if only:
        cases = [c for c in cases if c.group in only or c.key in only]
    return cases
