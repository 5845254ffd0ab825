#!/usr/bin/env python3
"""Conformance: CPython's own test modules, run unpatched and under a patch_all(), compared.

    python tools/conformance.py [--quick] [--patcher greenpatch|gevent|none] [--python PATH]
                                [--modules test_x,...] [--match PATTERN] [--timeout S] [-j N]
                                [--use RESOURCES] [--report-only] [--no-again] [--markdown]
                                [--json FILE]

For each module, the interpreter given by --python (default: this one) runs it twice, each time in
a fresh process started by tools/conformance_child.py: once unpatched, once with the patch applied
before anything imports socket. Outcomes are counted per test from unittest's own result calls,
not from output. A test that runs longer than --timeout is stopped (faulthandler prints every
thread's stack to the log) and counts as hung; a test that kills the interpreter counts as
crashed; either way the module goes on in a new process from the next test.

The table shows passed, failed, errors, skipped, hung and listed (left out by the skip list)
per module and in total, and then the regressions: tests that pass unpatched but not patched,
with why. A regression that failed is run once more, alone: one that passes then is listed as
possibly flaky and does not count. Any other regression makes the exit status 1, unless
--report-only; 2 means the run could not start or the runner failed. docs/conformance.md has
the details and the skip-list policy.

Stdlib only, and runs under every Python the project supports: the runner drives other
interpreters, and keeps its own work (counting, comparing, printing) in plain functions that
tests/test_conformance.py checks without running any stdlib suite.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHILD = os.path.join(HERE, "conformance_child.py")
SKIP_FILE = os.path.join(ROOT, "tests", "conformance_skips.json")
LOG_ROOT = os.path.join(ROOT, "build", "conformance")

# The modules, in the order they run, and whether --quick runs them. The quick set is what CI
# runs on every submission: about half a minute a side unpatched (docs/conformance.md has the
# measurements). test_socket and test_ssl are left to the full run: they are the longest, and
# while the cooperative layer is young each hang in them costs a whole --timeout.
MODULES = [
    ("test_selectors", True),
    ("test_select", True),
    ("test_timeout", True),
    ("test_socketserver", True),
    ("test_httplib", True),
    ("test_urllib2_localnet", True),
    ("test_urllib2", True),
    ("test_httpservers", True),
    ("test_socket", False),
    ("test_ssl", False),
    ("test_wait3", True),
    ("test_wait4", True),
    ("test_fork1", True),
    ("test_signal", False),
    ("test_subprocess", False),
    ("test_multiprocessing_fork", False),
    # Threads (patch_thread, patch_queue; docs/threading.md).
    ("test_threading_local", True),
    ("test_queue", True),
    ("test.test_asyncio.test_threads", True),
    ("test_thread", True),
    # test_threading takes a minute.
    ("test_threading", False),
    ("test_concurrent_futures", False),
]
# Modules run only in part (id patterns), where the whole would not fit in CI's time.
MODULE_MATCH: dict[str, list[str]] = {
    # The process, queue, pool and connection basics: the parts a cooperative os.waitpid,
    # selectors and fork handling can break (the whole module takes many minutes).
    "test_multiprocessing_fork": [
        "*WithProcessesTestProcess.*",
        "*WithProcessesTestQueue.*",
        "*WithProcessesTestPoll.*",
        "*WithProcessesTestConnection.*",
        "*WithProcessesTestPool.test_map*",
        "*WithProcessesTestPool.test_apply*",
        "*WithProcessesTestPool.test_async*",
        # Forks while green threads wait on a Condition: hung while a fork child let them run.
        "*WithProcessesTestCondition.*",
    ],
    # The thread parts: the process pools are another subject (and fork there is slow).
    "test_concurrent_futures": ["*ThreadPool*", "*FutureTests*", "*test_future*"],
}
# Shown beside a module's name: what the numbers mean until the work they measure has landed.
MODULE_NOTES: dict[str, str] = {}

# test_socketserver and test_timeout call support.requires("network") at import time although
# most of their tests use loopback only, so "network" is on by default; the few tests that want
# the internet resolve a name first, and socket_helper.transient_internet() turns the failed
# lookup into a skip, on both sides alike (this machine, like CI, has no internet).
DEFAULT_RESOURCES = ["network"]
# What regrtest's "-u all" means, for --use all.
ALL_RESOURCES = ["audio", "curses", "largefile", "network", "decimal", "cpu", "subprocess",
                 "urlfetch", "gui", "walltime"]  # fmt: skip

# A test's status: pass, fail, error, skip, xfail, xpass (from unittest), listed (skip list),
# hang, crash (from how its process ended); in comparisons also "not run".
PASSING = {"pass", "xfail"}  # an expected failure that fails as expected is a pass
# Table columns: each sums some statuses.
COLUMNS = [
    ("passed", {"pass", "xfail"}),
    ("failed", {"fail", "xpass"}),
    ("errors", {"error"}),
    ("skipped", {"skip"}),
    ("hung", {"hang", "crash"}),
    ("listed", {"listed"}),
]
# A module whose runs keep dying is given up after this many processes, so a suite that crashes
# in every test cannot hold the run for (tests x timeout).
MAX_ATTEMPTS = 6
# Extra time the runner gives a silent child beyond its own watchdog before killing it itself.
GRACE = 60.0


# -- the skip list ------------------------------------------------------------------------------


class SetupError(Exception):
    """The run cannot start (exit status 2, apart from regressions' 1)."""


class SkipListError(SetupError, ValueError):
    """The skip list is malformed: the run stops, since a wrong list would change the counts."""


def load_skips(path: str) -> list[dict]:
    """The skip list's entries, checked: each needs ``test`` and a non-empty ``reason``.

    Optional keys: ``python`` (versions like "3.12" it applies to; default all) and ``runs``
    (which of "unpatched", "greenpatch", "gevent" it applies to; default all).
    """
    if not os.path.exists(path):
        return []
    with open(path) as f:
        try:
            data = json.load(f)
        except ValueError as exc:
            raise SkipListError(f"{path}: not JSON: {exc}")
    entries = data.get("skips") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SkipListError(f'{path}: expected an object with a "skips" list')
    known = {"test", "reason", "python", "runs"}
    for i, entry in enumerate(entries):
        where = f"{path}: skips[{i}]"
        if not isinstance(entry, dict):
            raise SkipListError(f"{where}: expected an object")
        if set(entry) - known:
            raise SkipListError(f"{where}: unknown keys {sorted(set(entry) - known)}")
        if not isinstance(entry.get("test"), str) or not entry["test"]:
            raise SkipListError(f'{where}: "test" (a test id or pattern) is required')
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise SkipListError(f'{where}: "reason" is required: why may this test not run?')
        for key in ("python", "runs"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SkipListError(f'{where}: "{key}" must be a list of strings')
    return entries


def skips_for(entries: list[dict], python: str, run: str) -> list[dict]:
    """The entries that apply to one run (``unpatched`` or a patcher) under Python ``python``.

    ``python`` is a full version ("3.12.1"); an entry's "3.12" matches it.
    """
    short = ".".join(python.split(".")[:2])
    return [
        e
        for e in entries
        if (not e.get("python") or short in e["python"] or python in e["python"])
        and (not e.get("runs") or run in e["runs"])
    ]


def matches(test_id: str, patterns: list[str]) -> bool:
    """Whether a test id matches one of the shell-style patterns (exact ids match themselves)."""
    return any(test_id == p or fnmatch.fnmatchcase(test_id, p) for p in patterns)


# -- reading a child's events --------------------------------------------------------------------


def read_events(path: str, pid: int) -> list[dict]:
    """The events one child process wrote; lines from processes it forked are ignored."""
    events = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill
                if isinstance(event, dict) and event.get("pid") == pid:
                    events.append(event)
    except FileNotFoundError:
        pass
    return events


def fold_events(events: list[dict]) -> dict:
    """What one child process got through: its results, and where it stopped if it did not finish.

    Returns ``results`` (test id -> {"status", "detail"}), ``finished`` (it reported ``done``),
    ``running`` (the test it had started and not finished, or None), ``replaced`` (from
    ``hello``) and ``last_event`` (wall-clock time of its last event, or None).
    """
    results: dict[str, dict] = {}
    running = None
    replaced = None
    for event in events:
        kind = event.get("event")
        if kind == "hello":
            replaced = event.get("replaced")
        elif kind == "start":
            running = event["test"]
        elif kind == "result" and isinstance(event.get("test"), str):
            results[event["test"]] = {"status": event["status"], "detail": event.get("detail", "")}
            if event["test"] == running:
                running = None
    return {
        "results": results,
        "finished": any(e.get("event") == "done" for e in events),
        "running": running,
        "replaced": replaced,
        "last_event": events[-1]["t"] if events else None,
    }


def death_status(returncode: int | None, killed: bool, silent_for: float, timeout: float):
    """Why a child ended without ``done``: ("hang" | "crash", human-readable detail)."""
    if killed:
        return "hang", f"no progress for {silent_for:.0f} s; killed by the runner"
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return "crash", f"interpreter killed by {name}"
    if returncode == 1 and silent_for >= timeout * 0.9:
        # faulthandler's watchdog exits with status 1 after dumping every thread's stack.
        return "hang", f"still running after {timeout:.0f} s (stacks in the log)"
    return "crash", f"interpreter exited with status {returncode}"


# -- counting and comparing ---------------------------------------------------------------------


def count(results: dict) -> dict:
    """Table columns for one run: how many results fall in each."""
    return {
        column: sum(1 for r in results.values() if r["status"] in statuses)
        for column, statuses in COLUMNS
    }


def regressions(baseline: dict, patched: dict) -> list[tuple[str, str, str, str]]:
    """Tests that pass unpatched and do not pass patched, plus any patched hang or crash.

    A test that did not run at all under the patch (its class or module failed first, or the
    module was given up) counts too, as "not run". Returns (test id, unpatched status, patched
    status, detail), in the order of the unpatched run.
    """
    not_run = {"status": "not run", "detail": ""}
    found = []
    for test_id, before in baseline.items():
        after = patched.get(test_id, not_run)
        if before["status"] in PASSING and after["status"] not in PASSING | {"listed"}:
            found.append((test_id, before["status"], after["status"], after["detail"]))
    stuck = {"hang", "crash"}
    for test_id, after in patched.items():
        before = baseline.get(test_id, not_run)
        # Passing tests were handled above; a hang is new unless the unpatched run hung too.
        if after["status"] in stuck and before["status"] not in stuck | PASSING:
            found.append((test_id, before["status"], after["status"], after["detail"]))
    return found


# -- running one module --------------------------------------------------------------------------


class Options:
    """What every run shares: the interpreter, the limits, the resources, the filters."""

    def __init__(self, args: argparse.Namespace, python_version: str) -> None:
        self.python = args.python
        self.python_version = python_version
        self.timeout = args.timeout
        self.resources = args.use
        self.match = args.match or []
        self.log_dir = args.log_dir
        self.skips = args.skips


def run_module(
    opts: Options, module: str, run: str, progress=None, match: list[str] | None = None
) -> dict:
    """Run one module under one patcher ("none" for unpatched), restarting after hangs/crashes.

    Each process gets the ids already settled as ``exclude``, so it goes on from where the last
    one stopped. ``match`` (ids or patterns) narrows the run, as a second try of some tests does.
    Returns results, counts, seconds, attempts, replaced, notes and the log's path.
    """
    label = "unpatched" if run == "none" else run
    listed = [e["test"] for e in skips_for(opts.skips, opts.python_version, label)]
    log_dir = os.path.join(opts.log_dir, label)
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, module + (".again.log" if match else ".log"))
    results: dict[str, dict] = {}
    replaced = None
    notes = []
    started = time.monotonic()
    attempts = 0
    with open(log_path, "w") as log:
        while True:
            attempts += 1
            log.write(f"### {module}, {label}, process {attempts}\n")
            log.flush()
            spec = {
                "module": module,
                "patcher": run,
                "root": ROOT,
                "timeout": opts.timeout,
                "resources": opts.resources,
                "listed": listed,
                "match": match or opts.match or MODULE_MATCH.get(module, []),
                "exclude": sorted(results),
            }
            state, died = _run_child(opts, spec, log)
            results.update(state["results"])
            replaced = replaced or state["replaced"]
            if state["finished"]:
                break
            status, detail = died
            culprit = state["running"]
            if culprit is None:
                # It stopped between tests (a class or module fixture, or shutdown): starting
                # again would repeat the same fixture, so the rest of the module is not run.
                results[f"{module} (outside any test)"] = {"status": status, "detail": detail}
                notes.append(f"{status} outside any test: {detail}")
                break
            results[culprit] = {"status": status, "detail": detail}
            if progress:
                progress(f"  {module} [{label}]: {culprit}: {status}: {detail}")
            if attempts >= MAX_ATTEMPTS:
                notes.append(f"given up after {attempts} processes")
                break
    return {
        "results": results,
        "counts": count(results),
        "seconds": round(time.monotonic() - started, 1),
        "attempts": attempts,
        "replaced": replaced,
        "notes": notes,
        "log": _shown_path(log_path),
    }


def _run_child(opts: Options, spec: dict, log) -> tuple[dict, tuple[str, str] | None]:
    """One child process: its folded events, and (status, detail) if it died without ``done``."""
    workdir = tempfile.mkdtemp(prefix="conformance-")
    try:
        spec = dict(spec, events=os.path.join(workdir, "events.jsonl"))
        spec_path = os.path.join(workdir, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # Own session, so the process group holds everything the tests fork, and cleaning up
        # after the child kills exactly that; own working directory, since tests write files
        # named after their pid into the current directory.
        proc = subprocess.Popen(
            [opts.python, CHILD, spec_path],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        killed = False
        last_change = time.monotonic()
        last_size = -1
        while proc.poll() is None:
            time.sleep(0.5)
            size = _size(spec["events"])
            if size != last_size:
                last_size, last_change = size, time.monotonic()
            elif time.monotonic() - last_change > opts.timeout + GRACE:
                # The child's own watchdog should have fired: something blocks even that.
                killed = True
                _kill_group(proc.pid)
                proc.wait()
        _kill_group(proc.pid)  # whatever the tests forked and left behind
        state = fold_events(read_events(spec["events"], proc.pid))
        died = None
        if not state["finished"]:
            silent = time.time() - state["last_event"] if state["last_event"] else 0.0
            died = death_status(proc.returncode, killed, silent, opts.timeout)
        return state, died
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _shown_path(path: str) -> str:
    """A path as short as it can be shown: relative when under the current directory."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def try_again(
    opts: Options, module: str, run: str, found: list[tuple], progress=None
) -> tuple[list[tuple], list[tuple]]:
    """Run the failed regressions once more, alone; split them into (still failing, passed now).

    On a loaded machine a timing-sensitive stdlib test can fail once by chance, and CI must not
    go red for that; a test that passes on its second try is still reported, as possibly flaky
    under the patch. Hangs, crashes and skips (a decision, not a race) are not tried again.
    """
    again = [t for t, _b, after, _d in found if after in ("fail", "error", "not run")]
    if not again:
        return found, []
    if progress:
        progress(f"  {module} [{run}]: trying {len(again)} regressed test(s) once more")
    second = run_module(opts, module, run, progress, match=again)["results"]
    passed_now = {t for t in again if second.get(t, {}).get("status") in PASSING}
    return (
        [r for r in found if r[0] not in passed_now],
        [r for r in found if r[0] in passed_now],
    )


# -- the report ------------------------------------------------------------------------------------


def _fmt_seconds(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def format_table(report: dict) -> str:
    """The per-module table with a total, one line per run of each module."""
    names = [c for c, _ in COLUMNS]
    header = f"{'module':<24}{'run':<12}" + "".join(f"{n:>9}" for n in names) + f"{'time':>9}"
    lines = [header]
    totals: dict[str, dict] = {}
    for module, runs in report["modules"].items():
        first = True
        for label, run in runs.items():
            name = module if first else ""
            first = False
            counts = run["counts"]
            total = totals.setdefault(label, {n: 0 for n in [*names, "seconds"]})
            for n in names:
                total[n] += counts[n]
            total["seconds"] += run["seconds"]
            lines.append(
                f"{name:<24}{label:<12}"
                + "".join(f"{counts[n]:>9}" for n in names)
                + f"{_fmt_seconds(run['seconds']):>9}"
            )
        if module in MODULE_NOTES:
            lines.append(f"{'':<24}({MODULE_NOTES[module]})")
    first = True
    for label, total in totals.items():
        lines.append(
            f"{'total' if first else '':<24}{label:<12}"
            + "".join(f"{total[n]:>9}" for n in names)
            + f"{_fmt_seconds(total['seconds']):>9}"
        )
        first = False
    return "\n".join(lines)


def format_markdown(report: dict) -> str:
    """The same numbers as a Markdown table, as docs/conformance.md shows them."""
    labels = report["runs"]
    cells = "passed / failed / errors / skipped / hung"
    head = "| module | " + " | ".join(f"{label}: {cells}" for label in labels)
    head += " | regressions | time (" + ", ".join(labels) + ") |"
    lines = [head, "|---" * (len(labels) + 3) + "|"]
    totals = {label: {c: 0 for c, _ in COLUMNS} for label in labels}
    total_seconds = {label: 0.0 for label in labels}
    total_regressions = 0

    def row(counts: dict) -> str:
        text = " / ".join(str(counts[c]) for c in ("passed", "failed", "errors", "skipped"))
        text += f" / {counts['hung']}"
        return text + (f" (+{counts['listed']} listed)" if counts["listed"] else "")

    for module, runs in report["modules"].items():
        n = len(report["regressions"].get(module, []))
        total_regressions += n
        name = module + (f" ({MODULE_NOTES[module]})" if module in MODULE_NOTES else "")
        cols = []
        for label in labels:
            counts = runs[label]["counts"]
            for c in counts:
                totals[label][c] += counts[c]
            total_seconds[label] += runs[label]["seconds"]
            cols.append(row(counts))
        times = ", ".join(_fmt_seconds(runs[label]["seconds"]) for label in labels)
        reg = str(n) if len(labels) > 1 else "-"
        lines.append(f"| {name} | " + " | ".join(cols) + f" | {reg} | {times} |")
    times = ", ".join(_fmt_seconds(total_seconds[label]) for label in labels)
    reg = str(total_regressions) if len(labels) > 1 else "-"
    lines.append(
        "| **total** | "
        + " | ".join(row(totals[label]) for label in labels)
        + f" | {reg} | {times} |"
    )
    return "\n".join(lines)


def format_regressions(report: dict, patched_label: str) -> str:
    """Per module, the tests that pass unpatched but not patched, with what happened instead."""
    lines = []
    flaky = report.get("flaky", {})
    if sum(len(v) for v in flaky.values()):
        lines.append(f"Failed under {patched_label}, then passed when run again (flaky?):")
        lines += [*_listing(report, patched_label, flaky), ""]
    found = report["regressions"]
    total = sum(len(v) for v in found.values())
    if not total:
        lines.append(
            f"No regressions: every test that passes unpatched passes under {patched_label}."
        )
        return "\n".join(lines)
    kinds: dict[str, int] = {}
    for items in found.values():
        for _t, _b, after, _d in items:
            kinds[after] = kinds.get(after, 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    lines.append(f"Regressions under {patched_label} (pass unpatched, not patched): {total}")
    lines.append(f"  ({summary})")
    lines += _listing(report, patched_label, found)
    return "\n".join(lines)


def _listing(report: dict, patched_label: str, found: dict) -> list[str]:
    lines = []
    for module, items in found.items():
        if not items:
            continue
        log = report["modules"][module][patched_label]["log"]
        lines.append(f"  {module}: {len(items)}  (log: {log})")
        for test_id, _before, after, detail in items:
            short = test_id.removeprefix(f"test.{module}.")
            if len(detail) > 160:
                detail = detail[:157] + "..."
            lines.append(f"    {short}: {after}" + (f": {detail}" if detail else ""))
    return lines


def describe_patch(label: str, replaced: dict | None) -> str:
    """One line saying what the patch replaced, so a patch that does nothing is obvious."""
    if not replaced:
        return f"{label}: nothing ran far enough to tell what the patch replaced"
    changed = [
        f"{name} ({where})" for name, where in replaced.items() if where != name.split(".")[0]
    ]
    if not changed:
        return f"{label}: patch_all() replaced none of {', '.join(replaced)}: the patch is a no-op"
    return f"{label}: patch_all() replaced " + ", ".join(changed)


def stale_skips(entries: list[dict], report: dict) -> list[str]:
    """Skip-list entries that apply to this run but matched no test in it."""
    listed = [
        test_id
        for runs in report["modules"].values()
        for run in runs.values()
        for test_id, r in run["results"].items()
        if r["status"] == "listed"
    ]
    return [
        e["test"]
        for e in entries
        if any(skips_for([e], report["python"], label) for label in report["runs"])
        and not any(matches(test_id, [e["test"]]) for test_id in listed)
    ]


def print_report(report: dict, skip_entries: list[dict], markdown: bool, everything: bool):
    """The whole report on stdout: what was patched, the table, notes, regressions."""
    labels = report["runs"]
    modules = report["modules"]
    print()
    print(f"Python {report['python']}: {report['interpreter']}")
    for label in labels[1:]:
        first = next((r[label]["replaced"] for r in modules.values() if r[label]["replaced"]), None)
        print(describe_patch(label, first))
    print(format_markdown(report) if markdown else format_table(report))
    for module, module_runs in modules.items():
        for label, run in module_runs.items():
            for note in run["notes"]:
                print(f"note: {module} [{label}]: {note} (log: {run['log']})")
    # Only a run of every module can tell that an entry matches nothing any more.
    stale = stale_skips(skip_entries, report)
    if stale and everything:
        print("note: skip-list entries that matched no test here: " + ", ".join(stale))
    print(f"Total time {_fmt_seconds(report['seconds'])}.")
    if len(labels) > 1:
        print()
        print(format_regressions(report, labels[1]))


# -- main -----------------------------------------------------------------------------------------


def probe(python: str, patcher: str) -> str:
    """The target interpreter's version; SetupError, saying why, if it cannot run the runs."""
    code = (
        "import sys, test.support; print(sys.version.split()[0])\n"
        + {
            "greenpatch": f"sys.path.insert(0, {ROOT!r}); import monkeypatch, greenlet\n",
            "gevent": "import gevent.monkey\n",
            "none": "",
        }[patcher]
    )
    try:
        out = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError as exc:
        raise SetupError(f"cannot run {python}: {exc}")
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        hint = {
            "greenpatch": "use a Python that has greenlet, e.g. .venv/bin/python or a tox env",
            "gevent": "install gevent into a scratch venv for that Python (not into .venv)",
            "none": "this Python needs its test package (Debian: libpython3.X-testsuite)",
        }[patcher]
        raise SetupError(f"{python} cannot run the {patcher} runs: {last}\n  {hint}")
    return out.stdout.strip()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run CPython's socket-related test modules unpatched and patched; compare.",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to test")
    parser.add_argument(
        "--patcher",
        choices=["greenpatch", "gevent", "none"],
        default="greenpatch",
        help="patch for the patched runs ('none': unpatched runs only)",
    )
    parser.add_argument("--quick", action="store_true", help="only the quick modules (CI)")
    parser.add_argument("--modules", help="comma-separated modules to run instead")
    parser.add_argument(
        "--match",
        action="append",
        help="run only tests whose id matches this shell pattern (repeatable)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a test counts as hung"
    )
    parser.add_argument(
        "--use",
        default=",".join(DEFAULT_RESOURCES),
        help="test.support resources to enable, like regrtest -u (default: network; "
        "'all' or 'none')",
    )
    parser.add_argument("-j", "--jobs", type=int, default=1, help="processes at once (1-2)")
    parser.add_argument(
        "--report-only", action="store_true", help="exit 0 even when there are regressions"
    )
    parser.add_argument(
        "--no-again",
        dest="again",
        action="store_false",
        help="do not run failed regressions a second time to tell flaky ones apart",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", help="also write every result to this file")
    parser.add_argument("--skips", default=SKIP_FILE, help="the skip list (JSON)")
    parser.add_argument("--log-dir", help="where each run's output goes (default build/...)")
    args = parser.parse_args(argv)
    if args.use == "all":
        args.use = list(ALL_RESOURCES)
    elif args.use == "none":
        args.use = []
    else:
        args.use = [r for r in args.use.split(",") if r]
    args.everything = not (args.modules or args.quick or args.match)
    if args.modules:
        args.modules = [m.strip() for m in args.modules.split(",") if m.strip()]
    else:
        args.modules = [m for m, quick in MODULES if quick or not args.quick]
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    # The children run in a scratch directory: a relative path would not find the interpreter.
    if os.sep in args.python:
        args.python = os.path.abspath(args.python)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        skip_entries = load_skips(args.skips)
        version = probe(args.python, args.patcher)
        if args.patcher != "none":
            probe(args.python, "none")
    except SetupError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    args.skips = skip_entries
    args.log_dir = args.log_dir or os.path.join(LOG_ROOT, f"py{version}")
    opts = Options(args, version)
    runs = ["none"] if args.patcher == "none" else ["none", args.patcher]
    labels = ["unpatched" if r == "none" else r for r in runs]

    def progress(line: str) -> None:
        with lock:
            print(line, file=sys.stderr, flush=True)

    lock = threading.Lock()
    print(
        f"conformance: Python {version} ({args.python}); runs: {', '.join(labels)}; "
        f"resources: {','.join(args.use) or 'none'}; {args.timeout:.0f} s per test; "
        f"logs in {_shown_path(args.log_dir)}",
        file=sys.stderr,
        flush=True,
    )

    runner_errors = []

    def job(module: str, run: str) -> dict:
        label = "unpatched" if run == "none" else run
        try:
            result = run_module(opts, module, run, progress)
        except Exception:
            # A bug of the runner's own: report it and go on with the other modules.
            progress(f"{module} [{label}]: runner error:\n{traceback.format_exc()}")
            runner_errors.append(module)
            return {
                "results": {},
                "counts": count({}),
                "seconds": 0.0,
                "attempts": 0,
                "replaced": None,
                "notes": ["the runner failed on this module (traceback above)"],
                "log": "",
            }
        c = result["counts"]
        progress(
            f"{module:<24}{label:<12}{c['passed']:>5} passed {c['failed']:>4} failed "
            f"{c['errors']:>4} errors {c['skipped']:>4} skipped {c['hung']:>3} hung"
            f"  {_fmt_seconds(result['seconds'])}"
        )
        return result

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {(m, r): pool.submit(job, m, r) for m in args.modules for r in runs}
        modules = {
            m: {label: futures[m, r].result() for r, label in zip(runs, labels, strict=True)}
            for m in args.modules
        }
    report = {
        "python": version,
        "interpreter": args.python,
        "runs": labels,
        "resources": args.use,
        "timeout": args.timeout,
        "seconds": round(time.monotonic() - started, 1),
        "modules": modules,
        "regressions": {},
    }
    report["flaky"] = {}
    if len(labels) > 1:
        report["regressions"] = {
            m: regressions(runs_[labels[0]]["results"], runs_[labels[1]]["results"])
            for m, runs_ in modules.items()
        }
        if args.again:
            for m in modules:
                report["regressions"][m], report["flaky"][m] = try_again(
                    opts, m, runs[1], report["regressions"][m], progress
                )

    print_report(report, skip_entries, markdown=args.markdown, everything=args.everything)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if runner_errors:
        print(f"conformance: the runner failed on {', '.join(runner_errors)}", file=sys.stderr)
        return 2
    found = sum(len(v) for v in report["regressions"].values())
    return 1 if found and not args.report_only else 0


if __name__ == "__main__":
    sys.exit(main())
