"""Cooperative waits for database drivers written in C: psycopg 3 and psycopg2.

A C driver cannot be monkey-patched: libpq does its own socket IO. Both psycopg versions
therefore let the caller decide how to *wait*: libpq works in non-blocking mode, and whenever
it would block the driver asks for the connection's fd to become readable or writable.

- psycopg 3 runs each operation as a generator that yields what it waits for; a *wait function*
  (``psycopg.waiting.wait``, looked up at every call) consumes it. :func:`wait_psycopg` is one
  that waits on the hub.
- psycopg2 calls a *wait callback* (``psycopg2.extensions.set_wait_callback``) that polls the
  connection until done. :func:`psycopg2_wait_callback` is one that waits on the hub.

``monkeypatch.patch_all()`` installs both (see monkeypatch/_drivers.py and docs/databases.md).

Why not ``hub.wait_read`` alone: the hub's epoll is edge-triggered, which is sound only for a
caller that reads until EAGAIN before waiting ("try first, wait second"). libpq does not: one
``recv`` may leave data in the kernel buffer (it stops when its own buffer is full), and no new
edge would ever announce that data. So each wait first asks the kernel, with a zero-timeout
``poll``, whether the fd is ready *now* (level-triggered truth), and waits on the hub only when
it is not; data that arrives after that check is an edge the hub sees, because the waiter is
registered before the hub polls again.
"""

from __future__ import annotations

import errno
import select as _select
from collections.abc import Generator
from typing import Any

from ._core import get_hub, poll_now

__all__ = ["psycopg2_wait_callback", "wait_psycopg"]

_POLLIN = _select.POLLIN
_POLLOUT = _select.POLLOUT
_POLLNVAL = _select.POLLNVAL
_POLLERRS = _select.POLLERR | _select.POLLHUP

# psycopg's Wait/Ready values are selectors.EVENT_READ (1) and EVENT_WRITE (2).
_READ = 1
_WRITE = 2
_POLL_MASK = {_READ: _POLLIN, _WRITE: _POLLOUT, _READ | _WRITE: _POLLIN | _POLLOUT}


class _ClosedFd(Exception):
    """The fd was closed under the wait (poll reports POLLNVAL)."""


def _ready_now(fd: int, want: int) -> int:
    """What of ``want`` (READ/WRITE bits) ``fd`` is ready for right now, without waiting."""
    ev = poll_now(fd, _POLL_MASK[want])
    if not ev:
        return 0
    if ev & _POLLNVAL:
        raise _ClosedFd(fd)
    if ev & _POLLERRS:
        return want  # let the driver read the error (or EOF) itself
    return (_READ if ev & _POLLIN else 0) | (_WRITE if ev & _POLLOUT else 0)


def _fd_state(hub: Any, fd: int) -> Any:
    """The hub's FdState of ``fd``; _ClosedFd if the fd is not open (EBADF)."""
    try:
        return hub.fd_state(fd)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            raise _ClosedFd(fd) from None
        raise


def _wait_ready(hub: Any, st: Any, fd: int, want: int, timeout: float | None) -> int:
    """Wait until ``fd`` is ready for some of ``want``; 0 on timeout."""
    ready = _ready_now(fd, want)
    if ready:
        return ready
    if want == _READ:
        woke = hub.wait_fd(st, False, timeout)
    elif want == _WRITE:
        woke = hub.wait_fd(st, True, timeout)
    else:
        woke = hub.wait_fds([st], [st], timeout)
    # Woken by an edge: say "ready" without asking the kernel again. It is a hint, as any
    # readiness is to libpq: a read that finds nothing just yields again (and this function
    # asks the kernel first next time), so a spurious wake-up costs one round, never a hang.
    return want if woke else 0


def wait_psycopg(
    gen: Generator[int, int, Any], fileno: int, interval: float = 0.0, timeout: float | None = None
) -> Any:
    """A psycopg 3 wait function (the signature of ``psycopg.waiting.wait``) on the hub.

    Consumes ``gen``, sending it what ``fileno`` became ready for each time it yields what it
    waits for, and returns the generator's result. ``interval`` (psycopg's periodic wake-up, so
    that Ctrl-C is seen) is not needed: the hub delivers Ctrl-C to the main greenlet itself.
    ``timeout``: raise ``psycopg.errors._WaitTimeout`` (psycopg's contract for wait functions)
    when the generator has not finished after that many seconds.
    """
    from psycopg import errors

    hub = get_hub()
    clock = hub.clock
    deadline = None if timeout is None else clock() + timeout
    try:
        want = next(gen)
        st = _fd_state(hub, fileno)  # once per operation: the fd is stable while gen runs
        while True:
            remaining = None if deadline is None else max(0.0, deadline - clock())
            ready = _wait_ready(hub, st, fileno, want, remaining)
            want = gen.send(ready)
            if deadline is not None and clock() >= deadline:
                raise errors._WaitTimeout("wait timeout expired")
    except StopIteration as stop:
        return stop.value
    except _ClosedFd:
        raise errors.OperationalError("connection socket closed") from None


def psycopg2_wait_callback(conn: Any) -> None:
    """A psycopg2 wait callback (``psycopg2.extensions.set_wait_callback``) on the hub.

    Polls ``conn`` until its operation is done, waiting on the hub whenever libpq would block.
    If the wait is interrupted (a ``hub.Timeout``, a kill), the exception propagates and
    psycopg2 itself cancels the query and closes the connection (its rule for a wait callback
    that raises: the connection's state is unknown), so a pool discards it.
    """
    from psycopg2 import OperationalError, extensions

    hub = get_hub()
    st = None
    fd = -1
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            want = _READ
        elif state == extensions.POLL_WRITE:
            want = _WRITE
        else:
            raise OperationalError(f"psycopg2: poll() returned unexpected state {state!r}")
        try:
            if conn.fileno() != fd:  # the fd may change while connecting
                fd = conn.fileno()
                st = _fd_state(hub, fd)
            _wait_ready(hub, st, fd, want, None)
        except _ClosedFd:
            raise OperationalError("connection socket closed") from None
