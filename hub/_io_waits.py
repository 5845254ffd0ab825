"""Waiting for readiness of a bare file descriptor (gevent's ``wait_read`` family)."""

from __future__ import annotations

from typing import Any

from ._core import get_hub

__all__ = ["wait_read", "wait_readwrite", "wait_write"]


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
    and OSError(EBADF) if the fd is closed meanwhile through :meth:`Hub.notify_closing`. Like
    any readiness wait, it may return when the fd is not readable after all: retry the operation.
    """
    _wait(fd, True, False, timeout, timeout_exc)


def wait_write(fd: Any, timeout: float | None = None, timeout_exc: Any = None) -> None:
    """Block the current greenlet until ``fd`` is writable; see :func:`wait_read`."""
    _wait(fd, False, True, timeout, timeout_exc)


def wait_readwrite(fd: Any, timeout: float | None = None, timeout_exc: Any = None) -> None:
    """Block the current greenlet until ``fd`` is readable or writable; see :func:`wait_read`."""
    _wait(fd, True, True, timeout, timeout_exc)
