"""The benchmark suite: greenpatch against gevent, eventlet, asyncio, uvloop, threads and C.

    python bench/run.py [--quick] [--rounds N] [--duration S] [--only GROUP] [--toolkits A,B]

``make bench`` runs it in .venv-bench (where the peers are installed); ``make bench-quick`` runs
every workload once, briefly, to prove the suite still works. See bench/README.md for what each
workload measures and how.

Method: every measurement is a fresh server process and a fresh load generator, pinned to
different cores. Within a round, each workload runs every toolkit once, in an order that rotates
from round to round, so a machine that gets busier during the run penalises all toolkits alike.
The table shows the median over the rounds and the spread (lowest to highest). A toolkit that is
not installed, cannot run a workload yet, or fails, gets a line saying so and the run goes on.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import traceback

from harness import procs, report
from harness.procs import Failed, Unsupported
from harness.report import Results, Row
from harness.workloads import IMPORTS, Case, Settings, build_cases

RESULTS = os.path.join(procs.BENCH, "results")


def raise_fd_limit(wanted: int) -> tuple[int, str]:
    """Raise this process's open-file limit (children inherit it) as far as the hard limit allows.

    Returns the limit now in force and a note if it is below ``wanted``.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    note = ""
    if soft < wanted:
        note = f"RLIMIT_NOFILE hard limit is {hard}: the memory benchmark opens fewer connections"
    return soft, note


def available_toolkits(requested: list[str]) -> tuple[list[str], dict[str, str]]:
    """The requested toolkits that can run here, and why the others cannot."""
    missing = {}
    ok = []
    for tk in requested:
        module = IMPORTS.get(tk)
        if module and not procs.python_can_import(module):
            missing[tk] = f"not installed (pip install -e '.[bench]' installs {module})"
        else:
            ok.append(tk)
    return ok, missing


def run_one(case: Case, toolkit: str, settings: Settings, row: Row) -> str:
    """Measure one toolkit once; record the outcome in ``row``; return a progress word."""
    assert case.run is not None
    try:
        sample = case.run(toolkit, settings)
    except Unsupported as exc:
        row.status, row.reason = "skipped", str(exc)
        return f"skipped: {exc}"
    except Failed as exc:
        row.status, row.reason = "failed", str(exc)
        return f"FAILED: {exc}"
    except Exception as exc:  # a bug in the harness: report it, keep going with the others
        traceback.print_exc()
        row.status, row.reason = "failed", f"harness error: {type(exc).__name__}: {exc}"
        return f"FAILED: {row.reason}"
    row.values.append(sample.value)
    row.extra.append(sample.extra)
    return f"{sample.value:,.1f} {case.unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every workload once, briefly")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5; quick: 1)")
    parser.add_argument("--duration", type=float, help="seconds per measurement (default 2)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each")
    parser.add_argument(
        "--toolkits",
        default="greenpatch,gevent,eventlet,threads,asyncio,uvloop,c,floor,"
        "gunicorn-gevent,gunicorn-greenpatch,gunicorn-sync,bjoern",
        help="comma-separated subset of the toolkits",
    )
    parser.add_argument(
        "--only",
        action="append",
        help="run only this group (echo, http, wsgi, fetch, subprocess, micro, memory, tls, db) "
        "or case; repeatable",
    )
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--chart", help="write the PNG chart of the ratios here")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any toolkit failed")
    parser.add_argument(
        "--replot", metavar="JSON", help="only print the table and draw the chart of a results file"
    )
    args = parser.parse_args(argv)

    if args.replot:
        cases, results, meta = report.read_json(args.replot)
        print(report.table(cases, results, meta))
        chart_to = args.chart or os.path.join(os.path.dirname(args.replot), "ratios.png")
        print(report.chart(chart_to, cases, results, meta))
        return 0

    quick = args.quick
    settings = Settings(
        quick=quick,
        warmup=args.warmup if args.warmup is not None else (0.2 if quick else 0.5),
        duration=args.duration if args.duration is not None else (0.5 if quick else 2.0),
        memory_conns=1000 if quick else 10_000,
        fetch_count=200 if quick else 1000,
        micro_scale=0.05 if quick else 1.0,
    )
    rounds = 1 if quick else max(1, args.rounds)
    build = procs.BUILD
    json_path = args.json or os.path.join(
        build if quick else RESULTS, "quick.json" if quick else "latest.json"
    )
    chart_path = args.chart or os.path.join(
        build if quick else RESULTS, "quick-ratios.png" if quick else "ratios.png"
    )

    notes = procs.build_c_tools()
    limit, fd_note = raise_fd_limit(settings.memory_conns + 200)
    settings.memory_conns = min(settings.memory_conns, limit - 200)
    if fd_note:
        notes["fds"] = f"{fd_note} ({settings.memory_conns})"
    settings.server_cpu, settings.load_cpu = procs.cpu_plan()
    toolkits, missing = available_toolkits(args.toolkits.split(","))
    notes.update(missing)
    cases = build_cases(settings, args.only)

    pinning = (
        f"servers on CPU {settings.server_cpu}, load on CPU {settings.load_cpu}"
        if settings.server_cpu is not None
        else "one CPU: server and load generator share it (figures understate the servers)"
    )
    meta = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "pinning": pinning,
        "rounds": rounds,
        "duration": settings.duration,
        "warmup": settings.warmup,
        "quick": quick,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_before": round(os.getloadavg()[0], 2),
        "notes": notes,
    }
    for name, note in notes.items():
        print(f"note: {name}: {note}", file=sys.stderr)

    results: Results = {}
    for case in cases:
        rows = results[case.key] = {}
        for tk in case.toolkits:
            if tk in missing:
                rows[tk] = Row(status="missing", reason=missing[tk])
            elif tk in toolkits:
                rows[tk] = Row()
                if case.skip:
                    rows[tk].status, rows[tk].reason = "skipped", case.skip

    started = time.monotonic()
    for r in range(rounds):
        for case in cases:
            rows = results[case.key]
            runnable = [tk for tk, row in rows.items() if row.status == "ok"]
            if not runnable:
                continue
            shift = r % len(runnable)  # rotate the order every round
            for tk in runnable[shift:] + runnable[:shift]:
                word = run_one(case, tk, settings, rows[tk])
                print(f"[round {r + 1}/{rounds}] {case.key:<18} {tk:<11} {word}", file=sys.stderr)
    elapsed = time.monotonic() - started
    meta["seconds"] = round(elapsed, 1)
    meta["load_after"] = round(os.getloadavg()[0], 2)

    print(report.table(cases, results, meta))
    tgts = report.targets(cases, results)
    if tgts:
        print(report.targets_text(tgts))
    monitor_cost = report.monitor_cost_text(results)
    if monitor_cost:
        print(monitor_cost)
    for other in report.OTHER_TARGETS:
        more = report.targets(cases, results, other)
        if more:
            print(report.targets_text(more, other))
    report.write_json(json_path, cases, results, meta, tgts)
    print(f"\nraw results: {json_path}")
    print(report.chart(chart_path, cases, results, meta))
    print(f"took {elapsed:.0f} s")

    failed = [
        f"{key}/{tk}"
        for key, rows in results.items()
        for tk, r in rows.items()
        if r.status == "failed"
    ]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
