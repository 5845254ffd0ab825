"""Ctrl-C and SystemExit reach the main greenlet, whichever greenlet was running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")


def run_script(body: str, send_sigint: bool = True) -> subprocess.CompletedProcess[str]:
    script = "import sys\nsys.path.insert(0, %r)\n" % ROOT + textwrap.dedent(body)
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    if send_sigint:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, line + out, err)


def test_ctrl_c_while_the_hub_waits():
    result = run_script(
        """
        import hub
        hub.spawn(hub.sleep, 100)
        try:
            # Inside the try: the signal may arrive as soon as the parent reads this line.
            print("ready", flush=True)
            hub.sleep(100)
        except KeyboardInterrupt:
            print("main got KeyboardInterrupt", flush=True)
            raise
        """
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
        try:
            print("ready", flush=True)  # inside the try: the signal may come at once
            hub.sleep(100)
        except Stop as e:
            print("main got", e, flush=True)
        """
    )
    assert "main got from handler" in result.stdout
    assert result.returncode == 0
