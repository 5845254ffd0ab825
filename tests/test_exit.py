"""Interpreter exit while daemon threads run hubs: exit status 0 and nothing on stderr.

Each scenario runs in a fresh interpreter: the main thread starts daemon threads that keep
waiting cooperatively, prints a line and returns, so the interpreter finalizes while their hubs
and greenlets are alive. Before the fix (hub/_core/_exit.py explains the crash) every one of them
died with SIGSEGV or SIGABRT. Each runs unpatched and under ``patch_all()``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_PRELUDE = """
import sys, threading, time
sys.path.insert(0, {root!r})
PATCH = {patch!r}
if PATCH:
    import monkeypatch
    monkeypatch.patch_all()
import hub
import hub.socket

def start(fn, n=1):
    for _ in range(n):
        threading.Thread(target=fn, daemon=True).start()
"""

_EPILOGUE = """
time.sleep(0.2)
print("main exits", flush=True)
"""

SCENARIOS = {
    # The script: a heartbeat thread.
    "sleep": """
        def worker():
            while True:
                hub.sleep(0.01)
        start(worker)
    """,
    "sleep_forever": """
        start(lambda: hub.sleep(3600))
    """,
    "socket_recv": """
        def worker():
            a, b = hub.socket.socketpair()
            a.recv(10)  # nothing ever comes
        start(worker, 3)
    """,
    "socket_accept_timeout": """
        def worker():
            listener = hub.socket.create_server(("127.0.0.1", 0))
            listener.settimeout(60)
            listener.accept()
        start(worker)
    """,
    "lock": """
        lock = hub.Lock()
        lock.acquire()
        start(lambda: lock.acquire(), 2)
    """,
    "event": """
        ev = hub.Event()
        start(lambda: ev.wait())
    """,
    "many_greenlets": """
        def worker():
            ev = hub.Event()
            gs = [hub.spawn(ev.wait) for _ in range(2000)]
            gs += [hub.spawn(hub.sleep, 0.001 * (i % 50)) for i in range(2000)]
            while True:
                hub.sleep(0.005)
        start(worker)
    """,
    "busy_switching": """
        def spin():
            while True:
                hub.sleep(0)
        def worker():
            for _ in range(20):
                hub.spawn(spin)
            spin()
        start(worker)
    """,
    "root_in_plain_blocking_call": """
        import _thread
        def worker():
            hub.sleep(0.001)  # the thread has a hub, then blocks outside of it
            _thread.allocate_lock().acquire(True, 3600)
        start(worker)
    """,
    "main_thread_greenlets_too": """
        ev = hub.Event()
        for _ in range(200):
            hub.spawn(ev.wait)
        hub.sleep(0)
        def beat():
            while True:
                hub.sleep(0.01)
        start(beat, 2)
    """,
    "stdlib_names": """
        import queue, socket, select
        def sleeper():
            while True:
                time.sleep(0.01)
        def reader():
            a, b = socket.socketpair()
            select.select([a], [], [], 3600)
        def getter():
            queue.Queue().get()
        start(sleeper)
        start(reader)
        start(getter)
    """,
}


def _run(name: str, patch: bool) -> subprocess.CompletedProcess[str]:
    code = _PRELUDE.format(root=_ROOT, patch=patch) + textwrap.dedent(SCENARIOS[name]) + _EPILOGUE
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("patch", [False, True], ids=["unpatched", "patch_all"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_exit_with_daemon_thread_hubs(name: str, patch: bool) -> None:
    proc = _run(name, patch)
    assert (proc.returncode, proc.stderr, proc.stdout) == (0, "", "main exits\n")


def test_exit_repeatedly() -> None:
    # The crash did not depend on luck, but the park races the daemon thread's wake-ups: run the
    # heartbeat case a few more times.
    for _ in range(3):
        proc = _run("sleep", False)
        assert (proc.returncode, proc.stderr) == (0, "")
