"""Stress: many rounds of "a call waits in thread A, thread B closes or shuts down its socket".

Thread A is one long-lived OS thread with its own hub; each round hands it one call on fresh
sockets, and the main thread (B) closes or shuts them down after a random pause of up to a
millisecond and a half, so B acts before, during and after A's wait. Each outcome must be one the
stdlib gives (for a close before the call, or one during it: both are listed per call), and each
round must end promptly (never by the call's timeout). Afterwards nothing may be left behind:
the process holds as many fds as before, and A's hub still waits on a fresh fd correctly.

The default run does ``GREENPATCH_STRESS_ROUNDS`` rounds in all (1,000), spread over the calls;
``GREENPATCH_STRESS_ROUNDS=8000`` gives each call 1,000 rounds (about a minute here).
"""

from __future__ import annotations

import errno
import os
import random
import selectors as stdlib_selectors
import socket as stdlib_socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import hub
import hub.select
import hub.selectors
import hub.socket
from hub._core import RealSimpleQueue, real_sleep

_ROUNDS = int(os.environ.get("GREENPATCH_STRESS_ROUNDS", "1000"))
_TIMEOUT = 5.0
_EBADF = ("raise", "OSError", errno.EBADF)
# The stdlib's error for a closed socket object handed to select()/poll()/selectors: fileno() -1.
_CLOSED_BEFORE = ("raise", "ValueError", None)
# select() takes each object's fileno() first and makes the system call after: a close that lands
# between the two gives the stdlib's own select OSError(EBADF) (poll and the selectors report
# POLLNVAL for that fd instead). Our select makes the same first call, so it has the same window.
_CLOSED_BETWEEN = _EBADF


def _outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        value = fn()
    except Exception as exc:
        return ("raise", type(exc).__name__, getattr(exc, "errno", None))
    return ("value", value)


def _pair() -> tuple[Any, Any]:
    a, b = hub.socket.socketpair()
    a.settimeout(_TIMEOUT)
    return a, b


def _full_pair() -> tuple[Any, Any]:
    a, b = hub.socket.socketpair()
    a.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_SNDBUF, 4096)
    a.setblocking(False)
    try:
        while True:
            a.send(b"x" * 4096)
    except BlockingIOError:
        pass
    a.settimeout(_TIMEOUT)
    return a, b


def _listener() -> tuple[Any, Any]:
    lst = hub.socket.create_server(("127.0.0.1", 0))
    lst.settimeout(_TIMEOUT)
    return lst, None


def _select(a: Any) -> Any:
    r, w, x = hub.select.select([a], [], [], _TIMEOUT)
    return (len(r), len(w), len(x))


def _poll(a: Any) -> Any:
    p = hub.select.poll()
    p.register(a, hub.select.POLLIN)
    return tuple(ev for _, ev in p.poll(_TIMEOUT * 1000))


def _poll_selector(a: Any) -> Any:
    with hub.selectors.PollSelector() as sel:
        sel.register(a, stdlib_selectors.EVENT_READ)
        return tuple(ev for _, ev in sel.select(_TIMEOUT))


def _wait_read(a: Any) -> Any:
    return hub.wait_read(a, timeout=_TIMEOUT)


def _close(a: Any) -> None:
    a.close()


def _shut_rd(a: Any) -> None:
    a.shutdown(stdlib_socket.SHUT_RD)


# name: (setup, A's call on the first socket, B's action on it, the outcomes the stdlib allows)
CASES: dict[str, tuple[Any, Any, Any, set[tuple[Any, ...]]]] = {
    "recv, close": (_pair, lambda a: a.recv(10), _close, {_EBADF}),
    "recv, shutdown RD": (_pair, lambda a: a.recv(10), _shut_rd, {("value", b"")}),
    "recv_into, close": (_pair, lambda a: a.recv_into(bytearray(4)), _close, {_EBADF}),
    "makefile readline, shutdown RD": (
        _pair,
        lambda a: a.makefile("rb").readline(),
        _shut_rd,
        {("value", b"")},
    ),
    "accept, close": (_listener, lambda a: a.accept(), _close, {_EBADF}),
    "sendall full, close": (_full_pair, lambda a: a.sendall(b"y" * 65536), _close, {_EBADF}),
    "select, close": (
        _pair,
        _select,
        _close,
        {("value", (1, 0, 0)), _CLOSED_BEFORE, _CLOSED_BETWEEN},
    ),
    "poll, close": (_pair, _poll, _close, {("value", (hub.select.POLLNVAL,)), _CLOSED_BEFORE}),
    "PollSelector, close": (
        _pair,
        _poll_selector,
        _close,
        {("value", (stdlib_selectors.EVENT_READ,)), _CLOSED_BEFORE},
    ),
    "wait_read, close": (_pair, _wait_read, _close, {_EBADF}),
}


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


class _ThreadA:
    """An OS thread with its own hub that runs one call at a time for the main thread."""

    def __init__(self) -> None:
        self.jobs: Any = RealSimpleQueue()
        self.results: Any = RealSimpleQueue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            t0 = time.monotonic()
            self.results.put((_outcome(job), time.monotonic() - t0))

    def call(self, fn: Callable[[], Any]) -> None:
        self.jobs.put(fn)

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(_TIMEOUT)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc/self/fd")
def test_wait_in_one_thread_close_in_another() -> None:
    rng = random.Random(13)
    per_case = max(1, _ROUNDS // len(CASES))
    a_thread = _ThreadA()
    # Warm up (the hub, the thread pool, module imports), then take the fd baseline.
    a_thread.call(lambda: hub.sleep(0))
    a_thread.results.get(timeout=_TIMEOUT)
    baseline = _fd_count()
    seen: dict[str, set[tuple[Any, ...]]] = {name: set() for name in CASES}
    slow: list[tuple[str, float]] = []
    try:
        for _ in range(per_case):
            for name, (setup, call, act, _allowed) in CASES.items():
                a, b = setup()
                a_thread.call(lambda call=call, a=a: call(a))
                real_sleep(rng.random() * 0.0015)
                act(a)
                outcome, elapsed = a_thread.results.get(timeout=_TIMEOUT * 2)
                seen[name].add(outcome)
                if elapsed > _TIMEOUT / 2:
                    slow.append((name, elapsed))
                a.close()
                if b is not None:
                    b.close()
        unexpected = {
            name: outcomes - CASES[name][3]
            for name, outcomes in seen.items()
            if outcomes - CASES[name][3]
        }
        assert unexpected == {}
        assert slow == []
        # Nothing left behind: no fd, and A's hub waits on a fresh fd (perhaps a reused number)
        # as it should: woken by data, not before.
        assert _fd_count() == baseline
        r, w = hub.socket.socketpair()
        a_thread.call(lambda: (hub.wait_read(r, timeout=_TIMEOUT), r.recv(10)))
        real_sleep(0.02)
        w.send(b"ok")
        outcome, elapsed = a_thread.results.get(timeout=_TIMEOUT * 2)
        assert outcome == ("value", (None, b"ok")) and elapsed < _TIMEOUT / 2
        r.close()
        w.close()
    finally:
        a_thread.stop()
