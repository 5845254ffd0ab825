"""subprocess, os (fork, waits) and signal under patch_all(), each test in a fresh interpreter.

Patching changes the whole process, so every script here runs in a child Python; it prints
"ok" when its own assertions held.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")

PRELUDE = """
import os, signal, sys, time
import monkeypatch
monkeypatch.patch_all()
import subprocess
import hub

def ticking(seconds, step=0.02):
    # A greenlet that proves the hub kept running: how many times it woke up.
    ticks = []
    def tick():
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ticks.append(1)
            hub.sleep(step)
    return hub.spawn(tick), ticks
"""


def run_script(
    body: str, env: dict[str, str] | None = None, timeout: float = 60, prelude: str = PRELUDE
) -> str:
    # A file, not -c: multiprocessing's spawn and forkserver children import the main module.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "script.py")
        with open(path, "w") as f:
            f.write(prelude + textwrap.dedent(body))
        return _run(path, env, timeout)


def _run(path: str, env: dict[str, str] | None, timeout: float) -> str:
    result = subprocess.run(
        [sys.executable, path],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": ROOT, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok"), result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize("watcher", ["pidfd", "sigchld"])
def test_patched_popen_stays_the_stdlibs_class(watcher):
    run_script(
        """
        import hub.subprocess
        assert subprocess.Popen.__module__ == "subprocess"
        assert subprocess.Popen._wait is hub.subprocess.Popen._wait
        assert monkeypatch.get_original("os", "waitpid").__module__ == "posix"
        start = time.monotonic()
        jobs = [hub.spawn(subprocess.run, ["sleep", "0.5"]) for _ in range(20)]
        hub.joinall(jobs, raise_error=True)
        assert time.monotonic() - start < 8, time.monotonic() - start  # serially: 10 s
        out = subprocess.run(["cat"], input=b"z" * 3_000_000, capture_output=True).stdout
        assert len(out) == 3_000_000
        try:
            subprocess.run(["sleep", "10"], timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        print("ok")
        """,
        env={"GREENPATCH_CHILD_WATCHER": watcher},
    )


@pytest.mark.parametrize("watcher", ["pidfd", "sigchld"])
def test_os_waits_are_cooperative(watcher):
    run_script(
        """
        def child(code, delay=0.2):
            pid = os.fork()
            if pid == 0:
                time.sleep(delay)  # the child's hub, re-initialised
                os._exit(code)
            return pid

        g, ticks = ticking(0.15)
        pid = child(3)
        assert os.waitpid(pid, os.WNOHANG) == (0, 0)
        got, status = os.waitpid(pid, 0)
        assert got == pid and os.waitstatus_to_exitcode(status) == 3
        assert len(ticks) >= 3, ticks
        g.join()

        pid = child(4)
        got, status = os.wait()
        assert got == pid and os.waitstatus_to_exitcode(status) == 4
        pid = child(5)
        got, status, usage = os.wait3(0)
        assert got == pid and os.waitstatus_to_exitcode(status) == 5 and usage.ru_utime >= 0
        pid = child(6)
        got, status, usage = os.wait4(pid, 0)
        assert got == pid and os.waitstatus_to_exitcode(status) == 6
        pid = child(7)
        info = os.waitid(os.P_PID, pid, os.WEXITED)
        assert info.si_pid == pid and info.si_status == 7
        pid = child(8)
        info = os.waitid(os.P_ALL, 0, os.WEXITED)
        assert info.si_pid == pid and info.si_status == 8
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        else:
            raise AssertionError("reaped twice")

        # Several greenlets each waiting for their own child, while the program reaps one of
        # its children itself with the original call: nobody steals anybody's status.
        waiting = {child(10 + i, 0.1 * i): 10 + i for i in range(4)}
        jobs = {hub.spawn(os.waitpid, pid, 0): code for pid, code in list(waiting.items())[1:]}
        own = list(waiting)[0]
        real_waitpid = monkeypatch.get_original("os", "waitpid")
        assert os.waitstatus_to_exitcode(real_waitpid(own, 0)[1]) == 10
        hub.joinall(list(jobs), raise_error=True)
        for job, code in jobs.items():
            assert os.waitstatus_to_exitcode(job.value[1]) == code
        print("ok")
        """,
        env={"GREENPATCH_CHILD_WATCHER": watcher},
    )


def test_os_read_waits_on_the_hub_for_a_blocking_fd():
    run_script(
        """
        import _thread, threading
        # CPython's test_thread.test_forkinthread: the main greenlet reads a pipe that a
        # thread, not started yet, is to fill from a forked child.
        pid = None
        def fork_thread(read_fd, write_fd):
            global pid
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                os.write(write_fd, b"OK")
                os._exit(0)
        r, w = os.pipe()
        _thread.start_new_thread(fork_thread, (r, w))
        assert os.read(r, 2) == b"OK"
        os.close(w)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        os.close(r)

        # A green thread reading what another writes later; the hub ticks meanwhile.
        g, ticks = ticking(0.1)
        r, w = os.pipe()
        got = []
        reader = threading.Thread(target=lambda: got.append(os.read(r, 10)))
        reader.start()
        threading.Thread(target=lambda: (time.sleep(0.15), os.write(w, b"hi"))).start()
        reader.join()
        assert got == [b"hi"] and len(ticks) >= 3, (got, ticks)
        g.join()
        # What the hub learnt of the fd for the wait is forgotten: the program closes it.
        assert r not in hub.get_hub().statistics().fds

        # The stdlib's answers: data, end of file, EAGAIN for a non-blocking fd, EBADF.
        os.write(w, b"abc")
        assert os.read(r, 2) == b"ab" and os.read(r, 10) == b"c"
        os.set_blocking(r, False)
        try:
            os.read(r, 1)
        except BlockingIOError:
            pass
        else:
            raise AssertionError("no EAGAIN")
        os.close(w)
        assert os.read(r, 1) == b""
        os.close(r)
        try:
            os.read(r, 1)
        except OSError as exc:
            assert exc.errno == 9, exc
        else:
            raise AssertionError("no EBADF")
        # A file: ready at once, no wait.
        with open(__file__, "rb") as f, open(__file__, "rb") as g2:
            assert os.read(f.fileno(), 6) == g2.read(6)
        assert monkeypatch.get_original("os", "read") is not os.read
        print("ok")
        """
    )


def test_a_killed_wait_for_any_child_steals_nothing():
    run_script(
        """
        pid = os.fork()
        if pid == 0:
            time.sleep(0.3)
            os._exit(9)
        g = hub.spawn(os.wait)
        hub.sleep(0.05)
        g.kill()
        got, status = os.waitpid(pid, 0)
        assert got == pid and os.waitstatus_to_exitcode(status) == 9
        print("ok")
        """
    )


def test_fork_from_a_greenlet_with_greenlets_and_threads_alive():
    run_script(
        """
        busy, ticks = ticking(1.0)
        pool_job = hub.get_hub().threadpool.spawn(time.sleep, 0.5)  # a real thread, in flight

        def forker():
            pid = os.fork()
            if pid == 0:
                # The child: its hub works (timers, greenlets, IO, the thread pool).
                try:
                    r, w = os.pipe()
                    g = hub.spawn(lambda: (hub.sleep(0.05), os.write(w, b"x")))
                    assert hub.get_hub().threadpool.spawn(sum, [1, 2]).get() == 3
                    assert subprocess.check_output(["echo", "child"]) == b"child\\n"
                    g.join()
                    assert os.read(r, 1) == b"x"
                except BaseException:
                    import traceback
                    traceback.print_exc()
                    os._exit(1)
                os._exit(0)
            return os.waitpid(pid, 0)

        f = hub.spawn(forker)
        pid, status = f.get()
        assert os.waitstatus_to_exitcode(status) == 0

        # hub.fork and hub.reinit, gevent's names: reinit is a no-op where the hub is already
        # the process's own (the parent, or a child whose at-fork hooks ran).
        hub.reinit()
        pid = hub.fork()
        if pid == 0:
            hub.reinit()
            hub.sleep(0.01)
            os._exit(5)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 5

        # forkpty: the same, with the child on a pseudo-terminal.
        pid, fd = os.forkpty()
        if pid == 0:
            hub.sleep(0.01)
            os._exit(6)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 6
        os.close(fd)
        pool_job.get()
        busy.join()
        assert len(ticks) > 10
        print("ok")
        """
    )


def test_signal_handlers_run_in_their_own_greenlet_and_may_sleep():
    run_script(
        """
        got = []
        def handler(signum, frame):
            hub.sleep(0.05)
            got.append((signum, hub.getcurrent() is not main))
        main = hub.getcurrent()
        assert signal.signal(signal.SIGUSR1, handler) == signal.SIG_DFL
        assert signal.getsignal(signal.SIGUSR1) is handler
        os.kill(os.getpid(), signal.SIGUSR1)
        hub.sleep(0.2)
        assert got == [(signal.SIGUSR1, True)], got

        # A handler that does not wait has run when raise_signal returns, as in the stdlib.
        quick = []
        signal.signal(signal.SIGUSR2, lambda s, f: quick.append(s))
        signal.raise_signal(signal.SIGUSR2)
        assert quick == [signal.SIGUSR2], quick

        # Its exception stays in its own greenlet: printed, not thrown into ours.
        def bad(signum, frame):
            raise ValueError("handler failed")
        signal.signal(signal.SIGUSR1, bad)
        os.kill(os.getpid(), signal.SIGUSR1)
        hub.sleep(0.1)

        # SIG_IGN and SIG_DFL are the stdlib's.
        assert signal.signal(signal.SIGUSR1, signal.SIG_IGN) is bad
        os.kill(os.getpid(), signal.SIGUSR1)
        hub.sleep(0.05)
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_IGN
        stdlib_getsignal = monkeypatch.get_original("signal", "getsignal")
        # SIGINT's default handler is answered as it is; the C level has the router that sends
        # its KeyboardInterrupt to the main greenlet (hub/signal.py).
        c_level = stdlib_getsignal(signal.SIGINT)
        if c_level != signal.SIG_IGN:
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, c_level
            assert c_level is not signal.default_int_handler

        # hub.signal_handler, as gevent's; cancel restores what was there.
        calls = []
        watcher = hub.signal_handler(signal.SIGUSR2, calls.append, "w")
        os.kill(os.getpid(), signal.SIGUSR2)
        hub.sleep(0.05)
        assert calls == ["w"], calls
        watcher.cancel()
        assert signal.getsignal(signal.SIGUSR2).__name__ == "<lambda>"

        # A program's own wake-up fd keeps working beside the hub's (which is not one).
        r, w = os.pipe()
        os.set_blocking(w, False)
        signal.set_wakeup_fd(w)
        quick.clear()
        signal.raise_signal(signal.SIGUSR2)
        assert quick == [signal.SIGUSR2] and os.read(r, 1) == bytes([signal.SIGUSR2])
        signal.set_wakeup_fd(-1)

        # posix_spawn's children are awaited like any other.
        pid = os.posix_spawn("/bin/sh", ["sh", "-c", "exit 2"], os.environ)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 2
        print("ok")
        """
    )


def test_keyboard_interrupt_still_reaches_the_main_greenlet():
    script = (
        f"import sys\nsys.path.insert(0, {ROOT!r})\n"
        "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import monkeypatch\nmonkeypatch.patch_all()\nimport hub, subprocess\n"
        "hub.spawn(print, 'ready', flush=True)\n"
        "try:\n    subprocess.run(['sleep', '30'])\n"
        "except KeyboardInterrupt:\n    print('main got KeyboardInterrupt', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        import time

        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert "main got KeyboardInterrupt" in out, err


def test_command_line_flags():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "monkeypatch",
            "--no-subprocess",
            "--no-os",
            "--no-signal",
            "--check",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": ROOT},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    patched, _, rest = result.stdout.partition("not patched:")
    assert "subprocess.Popen._wait" in rest and "os.waitpid" in rest and "signal.signal" in rest
    assert "os.waitpid" not in patched
    full = subprocess.run(
        [sys.executable, "-m", "monkeypatch", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": ROOT},
        check=False,
    )
    assert "os      os.waitpid -> hub.os.waitpid" in full.stdout, full.stdout
    assert "signal.signal -> hub.signal.signal" in full.stdout


def test_bad_arguments_raise_what_the_stdlib_raises():
    run_script(
        """
        def raises(exc, fn, *args):
            try:
                fn(*args)
            except exc:
                return
            raise AssertionError(f"{fn.__name__}{args} did not raise {exc.__name__}")

        raises(ChildProcessError, os.waitpid, 2**22 + 1, 0)  # not our child
        raises(ChildProcessError, os.wait)  # no children at all
        raises(ChildProcessError, os.wait4, 2**22 + 1, 0)
        raises(ChildProcessError, os.waitid, os.P_PID, 2**22 + 1, os.WEXITED)
        raises(TypeError, os.waitpid, "1", 0)
        raises(TypeError, os.waitpid, 1, "0")
        raises(ValueError, signal.signal, 100000, lambda s, f: None)
        raises(TypeError, signal.signal, signal.SIGUSR1, "not a handler")
        raises(ValueError, signal.getsignal, 100000)
        print("ok")
        """
    )
