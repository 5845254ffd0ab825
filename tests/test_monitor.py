"""hub.monitor: the watchdog that reports code keeping the hub from running.

Bounds are generous on purpose: a 0.05 s limit against a 0.5 s real block, and a 1 s limit for
the programs that must stay quiet, so a loaded machine cannot flip an outcome.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

import hub
from hub import monitor
from hub._core import real_sleep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = "greenpatch monitor:"


def block_the_hub() -> None:
    real_sleep(0.5)  # the original time.sleep: blocks the whole thread


def os_threads() -> set[str]:
    """The ids of this process's threads, as the kernel lists them (Python's counts miss some)."""
    try:
        return set(os.listdir("/proc/self/task"))
    except OSError:
        pytest.skip("needs /proc/self/task (Linux) to list OS threads")


def run_python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, env=full_env
    )


def test_reports_a_real_sleep_once_naming_the_function():
    out = io.StringIO()
    monitor.start(0.05, stream=out)
    try:
        g = hub.spawn(block_the_hub)
        g.name = "the-blocker"
        g.join()
        hub.sleep(0.2)  # the hub runs freely again: no second report
    finally:
        monitor.stop()
    report = out.getvalue()
    # (Counting the reports that name the block: on a loaded machine a stall of the whole
    # process may add a report of its own, naming whatever ran then.)
    assert report.count('greenlet "the-blocker" blocks in block_the_hub()') == 1, report
    # The stack is the one at the moment of blocking: it ends in the blocking call's line.
    assert report.rstrip().endswith(
        "real_sleep(0.5)  # the original time.sleep: blocks the whole thread"
    )
    assert __file__ in report


def test_one_report_per_incident():
    out = io.StringIO()
    monitor.start(0.05, stream=out)
    try:
        block_the_hub()  # in the main greenlet, before the hub has run
        hub.sleep(0.1)
        hub.spawn(block_the_hub).join()
        hub.sleep(0.1)
    finally:
        monitor.stop()
    report = out.getvalue()
    assert report.count("blocks in block_the_hub()") == 2, report
    assert "the main greenlet blocks in block_the_hub()" in report


def test_a_report_states_at_least_the_limit():
    # One sample per limit: a report means two samples a limit apart found the same greenlet
    # running, so the time it states is the limit or more (never a shorter block), and the
    # block (0.5 s, ten limits) is reported while it still runs, once.
    out = io.StringIO()
    monitor.start(0.05, stream=out)
    try:
        block_the_hub()
        hub.sleep(0.1)
    finally:
        monitor.stop()
    report = out.getvalue()
    found = re.findall(r"has not run for ([\d.]+) s \(limit ([\d.]+) s\)", report)
    assert len(found) == 1, report
    blocked, limit = map(float, found[0])
    assert limit == 0.05
    assert 0.049 <= blocked <= 0.5, report


def test_quiet_for_a_cooperative_program():
    out = io.StringIO()
    monitor.start(1.0, stream=out)
    try:
        hub.joinall([hub.spawn(lambda: [hub.sleep(0.01) for _ in range(20)]) for _ in range(20)])
        hub.sleep(0.3)  # the hub idles in the poller: that is not blocking
    finally:
        monitor.stop()
    assert out.getvalue() == ""


def test_quiet_for_a_long_turn_of_short_greenlets():
    # 500 greenlets resumed in one turn of the loop, 2 ms of real blocking each: the turn takes
    # 1 s, yet no greenlet keeps the hub from switching for anywhere near the 0.5 s limit.
    out = io.StringIO()

    def short() -> None:
        real_sleep(0.002)

    monitor.start(0.5, stream=out)
    try:
        hub.joinall([hub.spawn(short) for _ in range(500)])
    finally:
        monitor.stop()
    assert out.getvalue() == ""


def test_report_to_a_logger():
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("test_monitor.logger")
    logger.propagate = False
    handler = Keep()
    logger.addHandler(handler)
    try:
        monitor.start(0.05, logger=logger)
        try:
            hub.spawn(block_the_hub).join()
        finally:
            monitor.stop()
    finally:
        logger.removeHandler(handler)
    ours = [r for r in records if "blocks in block_the_hub()" in r.getMessage()]
    assert len(ours) == 1
    assert ours[0].levelno == logging.WARNING


def test_off_costs_no_thread_and_stop_ends_the_thread():
    before = os_threads()
    hub.joinall([hub.spawn(hub.sleep, 0.01) for _ in range(10)])
    assert os_threads() <= before  # (threads of earlier tests may be ending meanwhile)
    assert not monitor.is_running()
    monitor.start(0.05)
    assert monitor.is_running()
    watchdogs = os_threads() - before
    assert len(watchdogs) == 1
    monitor.stop()
    assert not monitor.is_running()
    # stop() returns once the watchdog has finished; its OS thread exits right after.
    deadline = time.monotonic() + 10
    while watchdogs & os_threads() and time.monotonic() < deadline:
        real_sleep(0.01)
    assert not watchdogs & os_threads()


def test_bad_limit():
    with pytest.raises(ValueError, match="positive"):
        monitor.start(0)


BLOCKING_SCRIPT = """
import time, monkeypatch, hub
monkeypatch.patch_all()
real_sleep = monkeypatch.get_original("time", "sleep")
def stuck_in_a_call():
    real_sleep(0.5)
hub.spawn(stuck_in_a_call).join()
time.sleep(0.1)  # patched: cooperative
print("done")
"""


def test_environment_variable_starts_it_in_patch_all():
    result = run_python("-c", textwrap.dedent(BLOCKING_SCRIPT), env={monitor.ENV_VAR: "0.05"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    assert result.stderr.count("blocks in stuck_in_a_call()") == 1, result.stderr


def test_environment_variable_unset_or_bad():
    result = run_python("-c", textwrap.dedent(BLOCKING_SCRIPT), env={monitor.ENV_VAR: ""})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    result = run_python("-c", textwrap.dedent(BLOCKING_SCRIPT), env={monitor.ENV_VAR: "soon"})
    assert result.returncode == 0, result.stderr
    assert "ignoring GREENPATCH_MAX_BLOCKING_TIME='soon'" in result.stderr
    assert HEADER not in result.stderr


def test_python_m_monkeypatch_monitor(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        textwrap.dedent(
            """
            import monkeypatch, hub
            real_sleep = monkeypatch.get_original("time", "sleep")
            def stuck_in_a_call():
                real_sleep(0.5)
            hub.spawn(stuck_in_a_call).join()
            """
        )
    )
    result = run_python("-m", "monkeypatch", "--monitor", "0.05", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(f"blocks in stuck_in_a_call() at {script}:5") == 1, result.stderr
    bad = run_python("-m", "monkeypatch", "--monitor", "-1", str(script))
    assert bad.returncode != 0 and "positive number" in bad.stderr


def test_start_replaces_the_settings():
    first, second = io.StringIO(), io.StringIO()
    monitor.start(0.05, stream=first)
    monitor.start(0.05, stream=second)
    try:
        started = time.monotonic()
        hub.spawn(block_the_hub).join()
        assert time.monotonic() - started >= 0.5
    finally:
        monitor.stop()
    assert first.getvalue() == ""
    assert second.getvalue().count("blocks in block_the_hub()") == 1


def test_a_deadlock_still_raises_loopexit_while_the_monitor_runs():
    # The watchdog is a helper thread: it can never wake the hub, so it must not keep a
    # deadlocked program waiting for it (that would turn LoopExit into a hang).
    proc = run_python(
        "-c",
        textwrap.dedent(
            """
            import hub
            from hub import monitor
            monitor.start(1.0)
            hub.sleep(0.3)  # the watchdog thread is running by now
            try:
                hub.Event().wait()
            except hub.LoopExit:
                print("LoopExit")
            finally:
                monitor.stop()
            """
        ),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "LoopExit\n"
