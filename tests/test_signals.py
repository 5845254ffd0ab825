"""Ctrl-C and SystemExit reach the main greenlet, whichever greenlet was running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")


def wait_until_blocked(pid: int) -> None:
    """Wait until the child sleeps in a system call (the hub's epoll_wait), where we mean to
    interrupt it; without /proc, give it a generous moment."""
    stat = f"/proc/{pid}/stat"
    if not os.path.exists(stat):
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 20
    sleeping = 0
    while sleeping < 3 and time.monotonic() < deadline:
        with open(stat) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        sleeping = sleeping + 1 if state == "S" else 0
        time.sleep(0.02)


def run_script(
    body: str, send_sigint: bool = True, when_blocked: bool = False
) -> subprocess.CompletedProcess[str]:
    # Python leaves SIGINT alone when it starts with it ignored, as a job started in the
    # background by a non-interactive shell does (nohup ... &): install the usual handler.
    script = (
        f"import signal, sys\nsys.path.insert(0, {ROOT!r})\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n" + textwrap.dedent(body)
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    if when_blocked:
        wait_until_blocked(proc.pid)
    if send_sigint:
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()  # never leave a hung child behind
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, line + out, err)


def test_ctrl_c_while_the_hub_waits():
    result = run_script(
        """
        import hub
        hub.spawn(hub.sleep, 100)
        # Printed by a greenlet, so only once main already waits in the hub.
        hub.spawn(print, "ready", flush=True)
        try:
            hub.sleep(100)
        except KeyboardInterrupt:
            print("main got KeyboardInterrupt", flush=True)
            raise
        """,
        when_blocked=True,
    )
    assert "main got KeyboardInterrupt" in result.stdout
    assert "KeyboardInterrupt" in result.stderr
    assert result.returncode != 0


def test_ctrl_c_while_a_greenlet_computes():
    result = run_script(
        """
        import hub
        def spin():
            print("ready", flush=True)
            while True:
                pass
        g = hub.spawn(spin)
        try:
            g.join()
        except KeyboardInterrupt:
            print("main got KeyboardInterrupt", flush=True)
            raise
        """
    )
    assert "main got KeyboardInterrupt" in result.stdout
    assert result.returncode != 0


def test_sys_exit_in_a_greenlet_ends_the_program():
    result = run_script(
        """
        import sys, hub
        print("ready", flush=True)
        def quit():
            sys.exit(3)
        hub.spawn(quit)
        hub.sleep(100)
        print("not reached")
        """,
        send_sigint=False,
    )
    assert result.returncode == 3
    assert "not reached" not in result.stdout


def test_signal_handler_exception_reaches_main():
    result = run_script(
        """
        import signal, hub
        class Stop(Exception):
            pass
        def handler(signum, frame):
            raise Stop("from handler")
        signal.signal(signal.SIGINT, handler)
        hub.spawn(print, "ready", flush=True)
        try:
            hub.sleep(100)
        except Stop as e:
            print("main got", e, flush=True)
        """,
        when_blocked=True,  # raised while a greenlet runs, it would be that greenlet's error
    )
    assert "main got from handler" in result.stdout
    assert result.returncode == 0
