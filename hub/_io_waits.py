"""Waiting for readiness of bare file descriptors: gevent's ``wait_read`` family, and ``wait_any``
(what select(), poll() and selectors wait with)."""

from __future__ import annotations

import errno
import os
import select
from collections.abc import Iterator
from typing import Any, Protocol

from greenlet import getcurrent

from ._core import PENDING, get_hub, poll_now

__all__ = ["cancel_wait", "wait_any", "wait_read", "wait_readwrite", "wait_write"]


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


#: A file descriptor, or an object with ``fileno()`` (a socket, a file, a pipe object).
FileDescriptorLike = int | _HasFileno
_TimeoutExc = BaseException | type[BaseException] | None


def _fileno(fd: FileDescriptorLike) -> int:
    return fd if isinstance(fd, int) else fd.fileno()


def _ready_now(fd: int, readable: bool, writable: bool) -> bool:
    # The hub's epoll is edge-triggered: an edge that an earlier wait consumed is not reported
    # again, so a caller that did not drain the fd would wait for ever. These functions promise
    # what gevent's do, readiness now (level), and cannot try the operation first as sockets do:
    # ask the kernel once, without blocking.
    if fd < 0:  # a closed socket's fileno(): the stdlib's answer for a call on it
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    events = poll_now(fd, (select.POLLIN if readable else 0) | (select.POLLOUT if writable else 0))
    if events & select.POLLNVAL:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    return bool(events)


def _wait(
    fd: FileDescriptorLike,
    readable: bool,
    writable: bool,
    timeout: float | None,
    timeout_exc: _TimeoutExc,
) -> None:
    fileno = _fileno(fd)
    if _ready_now(fileno, readable, writable):
        return
    hub = get_hub()
    st = hub.fd_state(fileno)
    readers = [st] if readable else []
    writers = [st] if writable else []
    if not hub.wait_fds(readers, writers, timeout):
        raise timeout_exc if timeout_exc is not None else TimeoutError("timed out")


def wait_read(
    fd: FileDescriptorLike, timeout: float | None = None, timeout_exc: _TimeoutExc = None
) -> None:
    """Block the current greenlet until ``fd`` (an int or an object with ``fileno()``) is readable.

    Raises ``timeout_exc`` (``socket.timeout("timed out")`` by default) after ``timeout`` seconds,
    and OSError(EBADF) if the fd is closed meanwhile by its owner, in any thread (a cooperative
    socket's ``close()``; for a bare fd, call ``hub._core.notify_fd_closing(fd)`` first). Like
    any readiness wait, it may return when the fd is not readable after all: retry the operation.
    """
    _wait(fd, True, False, timeout, timeout_exc)


def wait_write(
    fd: FileDescriptorLike, timeout: float | None = None, timeout_exc: _TimeoutExc = None
) -> None:
    """Block the current greenlet until ``fd`` is writable; see :func:`wait_read`."""
    _wait(fd, False, True, timeout, timeout_exc)


def wait_readwrite(
    fd: FileDescriptorLike, timeout: float | None = None, timeout_exc: _TimeoutExc = None
) -> None:
    """Block the current greenlet until ``fd`` is readable or writable; see :func:`wait_read`."""
    _wait(fd, True, True, timeout, timeout_exc)


def time_left(hub: Any, timeout: float | None) -> Iterator[float | None]:
    """The timeout of each turn of a wait-and-retry loop (select, poll, a selector's select).

    Forever None when ``timeout`` is None; otherwise the seconds left of ``timeout`` on the hub's
    clock, counted from this call, and no more turns once they have run out. The loop ends
    then (``for ... else``): the caller returns its empty answer.
    """
    if timeout is None:
        while True:
            yield None
    deadline = hub.clock() + timeout
    remaining = timeout
    while remaining > 0:
        yield remaining
        remaining = deadline - hub.clock()


def wait_any(read_fds: Any, write_fds: Any, remaining: float | None) -> tuple[bool, set[int]]:
    """Wait until any fd may be ready: (False if ``remaining`` expired, the fds found closed).

    An fd is *closed* when its owner told the hubs it is closing while we waited (a cooperative
    socket's ``close()``, from any thread: we are woken with EBADF at once), or when the number no
    longer names an open file at all. The stdlib's blocking call reports such an fd as ready, and
    so do the callers.
    """
    try:
        hub = getcurrent()._hub  # type: ignore[attr-defined]  # see hub.get_hub()
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


def cancel_wait(fd: FileDescriptorLike, error: BaseException | None = None) -> None:
    """Wake every greenlet of this thread waiting on ``fd`` (an int or an object with
    ``fileno()``) in :func:`wait_read` and friends, or in a socket call, with ``error`` raised.

    ``error`` defaults to ``OSError(EBADF, "File descriptor was closed in another greenlet")``,
    what gevent's ``cancel_wait`` raises. The fd is neither closed nor forgotten: before closing
    it, call ``hub._core.notify_fd_closing(fd)``. gevent's version takes a watcher; greenpatch has
    no watchers, the fd names the wait.
    """
    if error is None:
        error = OSError(errno.EBADF, "File descriptor was closed in another greenlet")
    get_hub().cancel_wait(_fileno(fd), error)
