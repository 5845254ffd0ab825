"""Waiting for readiness of bare file descriptors: gevent's ``wait_read`` family, and ``wait_any``
(what select(), poll() and selectors wait with)."""

from __future__ import annotations

import errno
from typing import Any

from greenlet import getcurrent

from ._core import PENDING, get_hub

__all__ = ["wait_any", "wait_read", "wait_readwrite", "wait_write"]


def _fileno(fd: Any) -> int:
    return fd if isinstance(fd, int) else fd.fileno()


def _wait(fd: Any, readable: bool, writable: bool, timeout: float | None, timeout_exc: Any) -> None:
    hub = get_hub()
    st = hub.fd_state(_fileno(fd))
    readers = [st] if readable else []
    writers = [st] if writable else []
    if not hub.wait_fds(readers, writers, timeout):
        raise timeout_exc if timeout_exc is not None else TimeoutError("timed out")


def wait_read(fd: Any, timeout: float | None = None, timeout_exc: Any = None) -> None:
    """Block the current greenlet until ``fd`` (an int or an object with ``fileno()``) is readable.

    Raises ``timeout_exc`` (``socket.timeout("timed out")`` by default) after ``timeout`` seconds,
    and OSError(EBADF) if the fd is closed meanwhile by its owner, in any thread (a cooperative
    socket's ``close()``; for a bare fd, call ``hub._core.notify_fd_closing(fd)`` first). Like
    any readiness wait, it may return when the fd is not readable after all: retry the operation.
    """
    _wait(fd, True, False, timeout, timeout_exc)


def wait_write(fd: Any, timeout: float | None = None, timeout_exc: Any = None) -> None:
    """Block the current greenlet until ``fd`` is writable; see :func:`wait_read`."""
    _wait(fd, False, True, timeout, timeout_exc)


def wait_readwrite(fd: Any, timeout: float | None = None, timeout_exc: Any = None) -> None:
    """Block the current greenlet until ``fd`` is readable or writable; see :func:`wait_read`."""
    _wait(fd, True, True, timeout, timeout_exc)


def wait_any(read_fds: Any, write_fds: Any, remaining: float | None) -> tuple[bool, set[int]]:
    """Wait until any fd may be ready: (False if ``remaining`` expired, the fds found closed).

    An fd is *closed* when its owner told the hubs it is closing while we waited (a cooperative
    socket's ``close()``, from any thread: we are woken with EBADF at once), or when the number no
    longer names an open file at all. The stdlib's blocking call reports such an fd as ready, and
    so do the callers.
    """
    try:
        hub = getcurrent()._hub
    except AttributeError:
        hub = get_hub()
    fd_state = hub.fd_state
    states = {}
    closed = set()
    for fd in (*read_fds, *write_fds):
        if fd not in states and fd not in closed:
            try:
                states[fd] = fd_state(fd)
            except OSError as exc:
                if exc.errno != errno.EBADF:
                    raise
                closed.add(fd)
    if closed:
        return True, closed
    if not states:
        # Nothing to wait for: just the timeout. Forever is what the stdlib would do; with
        # nothing else able to run, the hub raises LoopExit instead of hanging.
        hub.suspend([getcurrent(), PENDING], remaining)
        return False, closed
    try:
        woken = hub.wait_fds(
            [states[fd] for fd in read_fds], [states[fd] for fd in write_fds], remaining
        )
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise
        woken = True
    # A closed fd's FdState has no hub any more (Hub.notify_closing, notify_fd_closing).
    return woken, {fd for fd, st in states.items() if st.hub is None}
