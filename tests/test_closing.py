"""Calls waiting on an fd that another thread or greenlet closes, shuts down or detaches.

The reference is the unpatched stdlib itself: tests/closing_scenarios.py runs each scenario in a
fresh interpreter three ways (stdlib with OS threads; patch_all() with OS threads, each with its
hub; patch_all() with greenlets of one thread) and the outcomes (value, or exception type and
errno) must be the same. The cooperative runs must also end promptly, where the stdlib often
waits for its timeout: a close wakes the waiters of every thread's hub at once.
"""

from __future__ import annotations

import errno
import json
import os
import socket as stdlib_socket
import subprocess
import sys
import threading
import time

import pytest

import hub
import hub.select
import hub.selectors
import hub.socket
from hub._core import RealSimpleQueue

_TESTS = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_TESTS)
# The stdlib reference waits for its timeout in many scenarios: keep it short. Ours gets a long
# one and must end well before it.
_STDLIB_TIMEOUT = 1.0
_TIMEOUT = 3.0


@pytest.fixture(scope="module")
def certs(tmp_path_factory):  # type: ignore[no-untyped-def]
    trustme = pytest.importorskip("trustme")  # the test extra
    del trustme
    sys.path.insert(0, _TESTS)
    try:
        import tlsutil
    finally:
        sys.path.remove(_TESTS)
    return tlsutil.make_certs(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="module")
def outcomes(certs):  # type: ignore[no-untyped-def]
    env = dict(os.environ, PYTHONPATH=_ROOT)
    procs = {
        mode: subprocess.Popen(
            [
                sys.executable,
                os.path.join(_TESTS, "closing_scenarios.py"),
                mode,
                str(_STDLIB_TIMEOUT if mode == "stdlib" else _TIMEOUT),
                certs.ca,
                certs.server,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for mode in ("stdlib", "threads", "greenlets")
    }
    results = {}
    for mode, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (0, ""), mode
        results[mode] = json.loads(out)
    return results


@pytest.mark.parametrize("mode", ["threads", "greenlets"])
def test_same_outcomes_as_the_stdlib(outcomes, mode: str) -> None:  # type: ignore[no-untyped-def]
    reference = outcomes["stdlib"]
    assert len(reference) > 30
    assert sorted(outcomes[mode]) == sorted(reference)
    differ = {
        name: (ours["outcome"], reference[name]["outcome"])
        for name, ours in outcomes[mode].items()
        if ours["outcome"] != reference[name]["outcome"]
    }
    assert differ == {}


@pytest.mark.parametrize("mode", ["threads", "greenlets"])
def test_woken_by_the_close_itself(outcomes, mode: str) -> None:  # type: ignore[no-untyped-def]
    # Well before the timeout (B acts after 0.15 s), except where the stdlib waits for it too.
    slow = {
        name: round(ours["elapsed"], 2)
        for name, ours in outcomes[mode].items()
        if not name.startswith("slow:") and ours["elapsed"] > _TIMEOUT / 2
    }
    assert slow == {}


# -- in-process checks the subprocess runs cannot make ------------------------------------------


def _in_thread(fn):  # type: ignore[no-untyped-def]
    """Run ``fn`` in a new OS thread (with its own hub); a queue gets its outcome."""
    results = RealSimpleQueue()

    def run() -> None:
        t0 = time.monotonic()
        try:
            results.put(("value", fn(), time.monotonic() - t0))
        except BaseException as exc:
            results.put(("raise", exc, time.monotonic() - t0))

    threading.Thread(target=run, daemon=True).start()
    return results


def test_a_close_in_another_thread_wakes_wait_read() -> None:
    a, b = hub.socket.socketpair()
    started = threading.Event()

    def wait() -> None:
        started.set()
        hub.wait_read(a, timeout=_TIMEOUT)

    results = _in_thread(wait)
    started.wait()
    time.sleep(0.1)
    a.close()
    kind, exc, elapsed = results.get(timeout=_TIMEOUT * 2)
    assert kind == "raise" and isinstance(exc, OSError) and exc.errno == errno.EBADF
    assert elapsed < _TIMEOUT / 2
    b.close()


def test_the_fd_number_reused_at_once_is_watched_again() -> None:
    # Thread X waits on socket s of fd N; the main thread closes s and at once creates a socket
    # that gets the number N back. X must then be able to wait on the new socket: the epoll
    # registration the close removed was the old file's, never the new one's (hub/_core/_closing).
    requests = RealSimpleQueue()
    results = RealSimpleQueue()

    def worker() -> None:
        while True:
            job = requests.get()
            if job is None:
                return
            try:
                results.put(("value", job()))
            except BaseException as exc:
                results.put(("raise", exc))

    threading.Thread(target=worker, daemon=True).start()
    for _ in range(20):
        a, b = hub.socket.socketpair()
        requests.put(lambda a=a: hub.select.select([a], [], [], _TIMEOUT))
        time.sleep(0.02)
        number = a.fileno()
        a.close()
        assert results.get(timeout=_TIMEOUT * 2)[0] == "value"
        c, d = hub.socket.socketpair()
        reused = number in (c.fileno(), d.fileno())
        new = c if c.fileno() == number else d
        peer = d if new is c else c
        new.settimeout(_TIMEOUT)
        requests.put(lambda new=new: new.recv(10))
        time.sleep(0.02)
        peer.send(b"hi")
        assert results.get(timeout=_TIMEOUT * 2) == ("value", b"hi"), reused
        for s in (b, c, d):
            s.close()
    requests.put(None)


def test_detach_wakes_a_blocked_reader_with_ebadf() -> None:
    # The stdlib's call keeps waiting on the fd it started with (until its timeout, or for ever);
    # the object has no fd any more, so ours ends at once with the error any further call on it
    # gets. (A documented difference: docs/closing.md.)
    a, b = hub.socket.socketpair()
    g = hub.spawn(a.recv, 10)
    hub.sleep(0)
    fd = a.detach()
    with pytest.raises(OSError) as info:
        g.get(timeout=_TIMEOUT)
    assert info.value.errno == errno.EBADF
    # The fd itself is still open and usable by its new owner.
    c = hub.socket.socket(fileno=fd)
    b.send(b"x")
    assert c.recv(1) == b"x"
    c.close()
    b.close()


def test_select_on_an_fd_closed_with_os_close_reports_it_ready() -> None:
    # Nobody told the hubs (os.close on a bare number): the stdlib's select reports the closed
    # fd as readable once it looks again; ours does at its next look (here: its timeout).
    r, w = os.pipe()
    g = hub.spawn(hub.select.select, [r], [], [], 0.3)
    hub.sleep(0.05)
    os.close(r)
    assert g.get(timeout=_TIMEOUT) == ([r], [], [])
    os.close(w)


def test_closed_socket_calls_raise_ebadf_not_valueerror() -> None:
    # A call on a socket that is already closed gets the stdlib's OSError(EBADF) from our
    # bookkeeping too (a wait on fd -1), never the poller's ValueError.
    a, b = hub.socket.socketpair()
    a.close()
    with pytest.raises(OSError) as info:
        hub.wait_read(a.fileno(), timeout=1)
    assert info.value.errno == errno.EBADF
    b.close()


def test_stdlib_socket_closed_under_a_cooperative_select() -> None:
    # A plain stdlib socket (no hub involved in its close): the stdlib's answer after its
    # timeout, never a ValueError from re-reading its fileno() (-1 by then).
    lst = stdlib_socket.create_server(("127.0.0.1", 0))
    g = hub.spawn(hub.select.select, [lst], [], [], 0.3)
    hub.sleep(0.05)
    lst.close()
    r, w, x = g.get(timeout=_TIMEOUT)
    assert (r, w, x) == ([lst], [], [])
