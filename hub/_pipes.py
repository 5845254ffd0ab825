"""Cooperative pipe files: the raw layer under a ``Popen``'s ``stdin``, ``stdout`` and ``stderr``.

``PipeFile`` is an ``io.FileIO`` (so ``isinstance(p.stdout.raw, io.FileIO)`` and everything the io
stack builds on it keep working) whose reads and writes wait on the hub instead of blocking the
thread. The buffered and text layers above it are the stdlib's own ``BufferedReader``,
``BufferedWriter`` and ``TextIOWrapper``, so ``readline``, iteration, ``read(n)``, encodings and
newline translation are exactly the stdlib's.

Non-blocking, unless shared
===========================

The fd is put in non-blocking mode, so each call is *try first, wait second*: the syscall, and
a wait on the hub only on EAGAIN. O_NONBLOCK belongs to the open file description, though, which
a child inherits: ``Popen(..., stdin=p1.stdout)`` (a shell pipeline) would hand the second
child a non-blocking stdin, and many programs fail on EAGAIN. So when such a pipe is given to a
new child, ``hub.subprocess`` calls :meth:`PipeFile.share`, which makes the fd blocking again.
A shared PipeFile first asks ``select()`` with a zero timeout whether the call can go ahead,
waits on the hub if not, and writes at most ``PIPE_BUF`` bytes at a time: a pipe that polls
writable has room for that much, so the call never blocks (the stdlib's ``communicate`` relies on
the same guarantee).
"""

from __future__ import annotations

import errno
import io
import os
import select
import weakref
from collections.abc import Callable
from typing import Any

from ._core import FdState, get_hub, poll_now

__all__ = ["PipeFile", "pipe_of"]

_PIPE_BUF = getattr(select, "PIPE_BUF", 512)
# fd -> the open PipeFile on it, so Popen(stdin=p1.stdout.fileno()) finds the pipe to share.
_by_fd: weakref.WeakValueDictionary[int, PipeFile] = weakref.WeakValueDictionary()
_CHUNK = 1 << 16
_POLLIN = select.POLLIN
_POLLOUT = select.POLLOUT


class PipeFile(io.FileIO):
    """A pipe end whose blocking calls wait on the hub; see the module docstring."""

    _state: FdState | None = None
    _shared = False

    def __init__(self, fd: int, mode: str = "r") -> None:
        super().__init__(fd, mode, closefd=True)
        os.set_blocking(fd, False)
        _by_fd[fd] = self

    def share(self) -> None:
        """The fd goes to another process: make it blocking again (see the module docstring)."""
        if not self._shared and not self.closed:
            self._shared = True
            os.set_blocking(self.fileno(), True)

    def wait(self, write: bool, timeout: float | None = None) -> bool:
        """Wait until the pipe may be writable (readable); False if ``timeout`` passed."""
        return get_hub().wait_fd(self.state(), write, timeout)

    def state(self) -> FdState:
        """The hub's FdState for this pipe (registered once per hub, released at close)."""
        st = self._state
        hub = get_hub()
        if st is None or st.hub is not hub:
            st = self._state = hub.fd_state(self.fileno())
        return st

    def _ready(self, write: bool) -> bool:
        return bool(poll_now(self.fileno(), _POLLOUT if write else _POLLIN))

    def try_read(self, size: int = _CHUNK) -> bytes | None:
        """Up to ``size`` bytes without waiting: None if none are there yet, b"" at EOF."""
        if self._shared and not self._ready(False):
            return None
        return super().read(size)

    def try_write(self, data: Any) -> int | None:
        """Write what fits without waiting: the count, or None if the pipe is full."""
        if self._shared:
            if not self._ready(True):
                return None
            data = memoryview(data)[:_PIPE_BUF]
        return super().write(data)

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is None or size < 0:
            return self.readall()
        return self._until_done(self.try_read, size, False)

    def readall(self) -> bytes:
        parts: list[bytes] = []
        while True:
            data = self.read(_CHUNK)
            if not data:
                return b"".join(parts)
            parts.append(data)

    def readinto(self, buffer: Any) -> int:
        return self._until_done(self._try_readinto, buffer, False)

    def write(self, data: Any) -> int:
        return self._until_done(self.try_write, data, True)

    def _try_readinto(self, buffer: Any) -> int | None:
        if self._shared and not self._ready(False):
            return None
        return super().readinto(buffer)

    def _until_done(self, attempt: Callable[[Any], Any], arg: Any, write: bool) -> Any:
        # The blocking calls: try first, wait second. ``attempt(arg)`` answers None while the
        # pipe is not ready (empty, or full when ``write``), and is tried again once it may be.
        while True:
            result = attempt(arg)
            if result is not None:
                return result
            self.wait(write)

    def close(self) -> None:
        if not self.closed:
            st = self._state
            if st is not None and st.hub is not None:
                # Before the fd is closed, so greenlets waiting on it get EBADF, not a hang.
                st.hub.notify_closing(st.fd)
            self._state = None
        super().close()


def pipe_of(fileobj: Any) -> PipeFile | None:
    """The PipeFile under a file object (text, buffered or raw), or of an fd number; or None."""
    if isinstance(fileobj, int):
        pipe = _by_fd.get(fileobj)
        return pipe if pipe is not None and not pipe.closed else None
    for attr in ("buffer", "raw"):
        inner = getattr(fileobj, attr, None)
        if inner is not None:
            fileobj = inner
    return fileobj if isinstance(fileobj, PipeFile) else None


def rebuild(fileobj: Any, bufsize: int) -> Any:
    """The same file object (same io classes and settings) over a PipeFile of a duplicate of its
    fd; ``fileobj`` is closed. ``bufsize`` is the one given to Popen."""
    if fileobj is None or pipe_of(fileobj) is not None:
        return fileobj
    text = fileobj if isinstance(fileobj, io.TextIOWrapper) else None
    binary = text.buffer if text is not None else fileobj
    writing = binary.writable()
    # A duplicate, because the old objects close their own fd; F_DUPFD_CLOEXEC keeps the child
    # side from inheriting it, as Popen's own pipe ends are not inherited.
    import fcntl

    fd = fcntl.fcntl(binary.fileno(), fcntl.F_DUPFD_CLOEXEC, 0)
    try:
        raw = PipeFile(fd, "w" if writing else "r")
    except BaseException:
        os.close(fd)
        raise
    try:
        fileobj.close()
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
    if bufsize == 0:
        new: Any = raw
    else:
        size = bufsize if bufsize > 1 else io.DEFAULT_BUFFER_SIZE
        new = io.BufferedWriter(raw, size) if writing else io.BufferedReader(raw, size)
    if text is not None:
        new = io.TextIOWrapper(
            new,
            encoding=text.encoding,
            errors=text.errors,
            line_buffering=text.line_buffering,
            write_through=text.write_through,
        )
    return new
