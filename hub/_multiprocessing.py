"""multiprocessing's blocking calls, made cooperative in place (rows in monkeypatch/_table.py).

multiprocessing keeps its own classes; only what blocks the OS thread is replaced:

- ``Connection._recv`` / ``_send``: the stdlib reads and writes the connection's fd (a pipe or
  a socket, always *blocking*: it is shared with other processes, so it stays blocking) with a
  plain ``os.read``/``os.write``. Here each call first waits on the hub until the fd is ready
  (asked with a zero-timeout poll, then awaited), and only then makes the same call: a
  readable fd gives what is there without blocking, and a writable pipe always takes
  ``PIPE_BUF`` bytes, so writes go in chunks of at most that. Results and errors (EOFError on a
  closed pipe, OSError mid-message) are the stdlib's, from the stdlib's own loop shape.
- ``connection._WaitSelector``: the selector ``connection.wait()`` (and so ``Connection.poll``,
  ``Process.join(timeout)`` and Pool's worker handler) waits with; the stdlib binds it when
  ``multiprocessing.connection`` is imported, which may be before ``patch_all()``.
- ``synchronize.SemLock._make_methods`` / ``__enter__``: multiprocessing's Lock, RLock,
  Semaphore, Condition and Event (and so ``Queue.get``/``put``) wait in a C POSIX semaphore,
  which has no fd to wait on. The acquire tries without blocking first; when it must wait, a
  ``hub.threadpool`` thread does the blocking wait for it (acquire, then release at once) and the
  greenlet tries again when that thread says the semaphore was free. The waiting greenlet then
  takes the semaphore itself, in its own OS thread, so the C lock's owner (RLock's) is right.
  That costs one pool thread per waiting greenlet and no polling in the hub; the thread waits in
  slices of at most half a second so that a killed greenlet leaves no thread behind for longer.
  Cheaper alternatives do not exist without an fd: a greenlet polling the semaphore with
  backoff would spin the hub.
"""

from __future__ import annotations

import io
import os
import select
from typing import Any

from greenlet import getcurrent

from ._core import get_hub, monotonic, os_read, poll_now
from ._event import Event
from ._greenlet import sleep
from ._io_waits import wait_read, wait_write
from .selectors import PollSelector

__all__: list[str] = []

_read = os_read  # the stdlib's, never a patched one (hub.os.read)
_write = os.write
_POLLIN = select.POLLIN
_POLLOUT = select.POLLOUT
_PIPE_BUF = getattr(select, "PIPE_BUF", 512)
_RECURSIVE_MUTEX = 0  # multiprocessing.synchronize.RECURSIVE_MUTEX, the kind of an RLock
_PROBE_SLICE = 0.5  # seconds a pool thread waits on a semaphore before reporting back


class _WaitSelector(PollSelector):
    """What ``multiprocessing.connection.wait()`` selects with: the cooperative selector, which
    also lets the other greenlets run once before it reports fds that were ready at once.

    Pool's worker handler loops on ``wait([*worker sentinels, result pipe, change pipe])``
    while the result handler, another thread, drains the result pipe. With OS threads the
    scheduler preempts the spinning handler; green threads are never preempted, so without this
    yield the worker handler would find the result pipe readable for ever and the result
    handler would never run.
    """

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        ready = super().select(timeout)
        if ready:
            sleep(0)
        return ready


class Connection:
    """The cooperative methods set on ``multiprocessing.connection.Connection``."""

    _handle: int

    def _recv(self, size: int, read: Any = _read) -> Any:
        buf = io.BytesIO()
        handle = self._handle
        remaining = size
        while remaining > 0:
            while not poll_now(handle, _POLLIN):  # POLLHUP and POLLERR count as ready too
                wait_read(handle)
            chunk = read(handle, remaining)
            n = len(chunk)
            if n == 0:
                if remaining == size:
                    raise EOFError
                raise OSError("got end of file during message")
            buf.write(chunk)
            remaining -= n
        return buf

    def _send(self, buf: Any, write: Any = _write) -> None:
        view = memoryview(buf)
        handle = self._handle
        while view:
            while not poll_now(handle, _POLLOUT):
                wait_write(handle)
            n = write(handle, view[:_PIPE_BUF])
            view = view[n:]


def _probe(semlock: Any, timeout: float) -> bool:
    # In a pool thread: wait until the semaphore is free, and leave it free for the greenlet.
    if semlock.acquire(True, timeout):
        semlock.release()
        return True
    return False


def _acquire(
    semlock: Any,
    block: bool = True,
    timeout: float | None = None,
    owned: _RecursiveMethods | None = None,
) -> bool:
    # owned: an RLock's methods, which know whether another greenlet of this OS thread holds it
    # (the C lock would let this one in as if it were the owner).
    if (owned is None or not owned.sibling_holds()) and semlock.acquire(False):
        return True
    if not block:
        return False
    deadline = None if timeout is None else monotonic() + timeout
    pool = get_hub().threadpool
    while True:
        remaining = _PROBE_SLICE if deadline is None else deadline - monotonic()
        if remaining <= 0:
            return False
        if owned is not None and owned.sibling_holds():
            # The holder releases it on this hub: a pool thread would not see it go free sooner.
            owned.wait_released(remaining)
            continue
        pool.spawn(_probe, semlock, min(remaining, _PROBE_SLICE)).get()
        # Free a moment ago; another process or greenlet may have taken it since: try again.
        if (owned is None or not owned.sibling_holds()) and semlock.acquire(False):
            return True


class _Acquire:
    """``SemLock.acquire`` of one lock: the stdlib's signature, waiting on the hub."""

    __slots__ = ("_semlock",)

    def __init__(self, semlock: Any) -> None:
        self._semlock = semlock

    def __call__(self, block: bool = True, timeout: float | None = None) -> bool:
        return _acquire(self._semlock, block, timeout)


class _RecursiveMethods:
    """``acquire`` and ``release`` of a recursive SemLock (``multiprocessing.RLock``, and so
    ``Condition``'s default lock). The C lock knows its owner by OS thread, and every green
    thread of one OS thread looks the same to it: two green threads would both "own" it. This
    records the owning greenlet and makes the others wait, and refuses their release as the C
    lock refuses another thread's."""

    __slots__ = ("_owner", "_released", "_semlock")

    def __init__(self, semlock: Any) -> None:
        self._semlock = semlock
        self._owner: Any = None
        self._released: Event | None = None

    def sibling_holds(self) -> bool:
        """Whether another greenlet of this OS thread holds the lock."""
        owner = self._owner
        return owner is not None and owner is not getcurrent() and self._semlock._is_mine()

    def wait_released(self, timeout: float) -> None:
        """Wait (at most ``timeout``) until the holding greenlet releases the lock for good.
        The holder runs on this thread's hub, so between the caller's check and this wait it
        cannot have released it."""
        if self._released is None:
            self._released = Event()
        self._released.wait(timeout)

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        got = _acquire(self._semlock, block, timeout, self)
        if got:
            self._owner = getcurrent()
        return got

    def release(self) -> None:
        if self.sibling_holds():
            raise AssertionError("attempt to release recursive lock not owned by thread")
        self._semlock.release()
        if not self._semlock._count():
            self._owner = None
            released, self._released = self._released, None
            if released is not None:
                released.set()


class SemLock:
    """The cooperative methods set on ``multiprocessing.synchronize.SemLock``."""

    _semlock: Any
    acquire: Any
    release: Any

    def _make_methods(self) -> None:
        if self._semlock.kind == _RECURSIVE_MUTEX:
            methods = _RecursiveMethods(self._semlock)
            self.acquire = methods.acquire
            self.release = methods.release
        else:
            self.acquire = _Acquire(self._semlock)
            self.release = self._semlock.release

    def __enter__(self) -> bool:
        return self.acquire()
