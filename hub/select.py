"""A cooperative select module: ``select()``, ``poll()`` and ``epoll()`` that wait on the hub.

Each call first asks the real system call with a zero timeout (what is ready *now*, with the
stdlib's exact results, validation and errors). Only when nothing is ready does the greenlet wait
on the hub for any of the fds, and then it asks again; a spurious wake-up just loops. Level-
triggered semantics are therefore the stdlib's, whatever the hub uses inside.

``epoll`` objects are waited on through their own fd, which becomes readable when any of their
registered fds has an event: one registration, however many fds it watches.

An fd closed while a call waits (by a cooperative socket's ``close()``, from any greenlet or
thread) wakes it at once, and it answers as the stdlib's blocking call does once it sees the
close: ``select`` reports the object in each list it was in, ``poll`` reports ``POLLNVAL``. The
objects are represented by the fd numbers they had when the call began, as in the stdlib.
``epoll`` objects, like the kernel's, do not report a closed fd (docs/closing.md).

Limitation: the hub wakes ``select()`` for readability or writability only; a greenlet waiting
*solely* on ``xlist`` (exceptional conditions such as TCP urgent data) is woken when the fd
becomes readable, which urgent data also causes on Linux.
"""

from __future__ import annotations

import errno as _errno
import select as _stdlib_select
from collections.abc import Iterator as _Iterator
from select import *
from typing import Any

from ._core import get_hub as _get_hub
from ._io_waits import time_left, wait_any

__all__ = sorted({*getattr(_stdlib_select, "__all__", []), "error", "poll", "select"})

_select = _stdlib_select.select
_poll: Any = getattr(_stdlib_select, "poll", None)
_epoll: Any = getattr(_stdlib_select, "epoll", None)
error = OSError  # type: ignore[misc]  # the stdlib's alias too, re-stated for the table
_READ_MASK = getattr(_stdlib_select, "POLLIN", 1) | getattr(_stdlib_select, "POLLPRI", 2)
_WRITE_MASK = getattr(_stdlib_select, "POLLOUT", 4)
_POLLNVAL = getattr(_stdlib_select, "POLLNVAL", 32)


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    return obj.fileno()


def _timeout_number(timeout: Any, kind: str) -> float | None:
    """``timeout`` as a float (None stays None); the stdlib's TypeError for anything else."""
    if timeout is None:
        return None
    try:
        return float(timeout)
    except (TypeError, ValueError):
        raise TypeError(f"timeout must be {kind} or None") from None


def _check_timeout(timeout: Any) -> float | None:
    """The stdlib's validation of select()'s timeout argument: seconds, never negative."""
    value = _timeout_number(timeout, "a float")
    if value is not None and value < 0:
        raise ValueError("timeout must be non-negative")
    return value


def _select_numbers(
    pairs: tuple[list[tuple[Any, int]], ...], closed: set[int]
) -> tuple[list[Any], list[Any], list[Any]]:
    """The stdlib's answer for the objects in ``pairs`` (object, fd number when the call began).

    Asked by number, as the stdlib's own select does once it has converted its arguments, so an
    object closed meanwhile (its ``fileno()`` is -1 now) is still the fd it was. A closed fd is
    reported in every list it is in, as the blocking stdlib call reports it.
    """
    bad = set(closed)
    numbers = [[fd for _, fd in group if fd not in bad] for group in pairs]
    try:
        ready = [set(fds) for fds in _select(numbers[0], numbers[1], numbers[2], 0)]
    except OSError as exc:
        if exc.errno != _errno.EBADF:
            raise
        # A number closed without telling the hubs (os.close): find which, one at a time.
        ready = [set(), set(), set()]
        for i, fds in enumerate(numbers):
            for fd in fds:
                args: list[list[int]] = [[], [], []]
                args[i] = [fd]
                try:
                    if _select(args[0], args[1], args[2], 0)[i]:
                        ready[i].add(fd)
                except OSError:
                    bad.add(fd)
    r, w, x = (
        [obj for obj, fd in group if fd in ready[i] or fd in bad] for i, group in enumerate(pairs)
    )
    return r, w, x


def select(
    rlist: Any, wlist: Any, xlist: Any, timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Cooperative :func:`select.select`."""
    timeout = _check_timeout(timeout)
    # The lists are read again after the wait: a one-shot iterator (a generator) would be empty.
    if type(rlist) is not list or type(wlist) is not list or type(xlist) is not list:
        rlist, wlist, xlist = [
            list(x) if isinstance(x, _Iterator) else x for x in (rlist, wlist, xlist)
        ]
    result = _select(rlist, wlist, xlist, 0)
    if result[0] or result[1] or result[2] or timeout == 0:
        return result
    # From here on each object is the fd number it had when the call began (see _select_numbers).
    pairs = tuple([(obj, _fileno(obj)) for obj in group] for group in (rlist, wlist, xlist))
    read_fds = {fd for _, fd in pairs[0]} | {fd for _, fd in pairs[2]}
    write_fds = {fd for _, fd in pairs[1]}
    for remaining in time_left(_get_hub(), timeout):
        woken, closed = wait_any(read_fds, write_fds, remaining)
        result = _select_numbers(pairs, closed)
        if result[0] or result[1] or result[2] or not woken:
            return result
    return [], [], []


def poll() -> _PollObject:
    """Cooperative :func:`select.poll`: a polling object whose ``poll()`` waits on the hub."""
    if _poll is None:
        raise OSError("poll() is not available on this platform")
    obj = object.__new__(_PollObject)
    obj._poll = _poll()
    obj._fds = {}
    return obj


class _PollObject:
    """Cooperative poll object: ``register``/``modify``/``unregister``/``poll``.

    Like the stdlib's, only :func:`poll` makes one; calling the type raises TypeError.
    """

    __slots__ = ("_fds", "_poll")
    _fds: dict[int, int]
    _poll: Any

    def __new__(cls, *args: Any, **kwargs: Any) -> _PollObject:
        raise TypeError(f"cannot create '{__name__}.poll' instances")

    def register(self, fd: Any, eventmask: int = _READ_MASK | _WRITE_MASK) -> None:
        """Watch ``fd`` for ``eventmask`` (POLLIN, POLLPRI, POLLOUT by default)."""
        self._poll.register(fd, eventmask)
        # (An int mostly, psycopg's fd: _fileno's frame saved, here and in modify.)
        self._fds[fd if type(fd) is int else _fileno(fd)] = eventmask

    def modify(self, fd: Any, eventmask: int) -> None:
        """Change the events watched on a registered ``fd``."""
        self._poll.modify(fd, eventmask)
        self._fds[fd if type(fd) is int else _fileno(fd)] = eventmask

    def unregister(self, fd: Any) -> None:
        """Stop watching ``fd``; KeyError if it was not registered."""
        self._poll.unregister(fd)
        del self._fds[_fileno(fd)]

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Like :meth:`select.poll.poll`: ``timeout`` in milliseconds; None or negative: forever."""
        result = self._poll.poll(0)  # also validates nothing else: the stdlib's errors
        if result:
            return result
        if type(timeout) is int and timeout > 0:
            ms: float | None = timeout  # (psycopg's wait_poll: _poll_timeout_ms's frame saved)
        else:
            ms = _poll_timeout_ms(timeout)
            if ms == 0:
                return result
        hub = _get_hub()
        if len(self._fds) == 1:
            one = self._poll_one(hub, None if ms is None else ms / 1000.0)
            if one is not None:
                return one
        for remaining in time_left(hub, None if ms is None else ms / 1000.0):
            read_fds = [fd for fd, mask in self._fds.items() if mask & _READ_MASK]
            write_fds = [fd for fd, mask in self._fds.items() if mask & _WRITE_MASK]
            woken, closed = wait_any(read_fds, write_fds, remaining)
            result = self._poll.poll(0)
            if closed:
                # The stdlib's poll reports a closed fd as POLLNVAL (and its number may already
                # name a new file, whose readiness is not the answer).
                result = [(fd, ev) for fd, ev in result if fd not in closed]
                result += [(fd, _POLLNVAL) for fd in self._fds if fd in closed]
            if result or not woken:
                return result
        return []

    def _poll_one(self, hub: Any, timeout: float | None) -> list[tuple[int, int]] | None:
        """poll()'s wait for a single fd watched for reading or writing, or None: the general
        path decides (another mask, an fd the hub cannot watch).

        psycopg 3's ``wait_poll`` (what it uses under ``patch_all()``, docs/databases.md) makes
        one poll object per query with its connection's fd, and polls it once or twice: the
        general path's fd lists, sets and ``wait_fds`` are most of its cost. Here the wait is
        one ``Hub.wait_fd``, and a close during it is seen on the fd's state (POLLNVAL, as there).
        """
        ((fd, mask),) = self._fds.items()
        if mask & _READ_MASK:
            if mask & _WRITE_MASK:
                return None
            write = False
        elif mask & _WRITE_MASK:
            write = True
        else:
            return None
        try:
            st = hub.fd_state(fd)
        except OSError:
            return None  # EBADF and the like: the general path reports them
        if not st.edge:
            return None  # (the level-triggered poller: the general path keeps it in step)
        for remaining in time_left(hub, timeout):
            try:
                woken = hub.wait_fd(st, write, remaining)
            except OSError as exc:
                if exc.errno != _errno.EBADF:
                    raise
                woken = True
            if st.hub is None:  # closed meanwhile (Hub.notify_closing)
                return [(fd, _POLLNVAL)]
            result = self._poll.poll(0)
            if result or not woken:
                return result
        return []


# The stdlib's type is named after the function that makes it (select.poll).
_PollObject.__name__ = _PollObject.__qualname__ = "poll"


def _poll_timeout_ms(timeout: Any) -> float | None:
    """poll()'s timeout rules: None or negative waits forever; TypeError for non-numbers."""
    ms = _timeout_number(timeout, "an integer")
    return None if ms is None or ms < 0 else ms


if _epoll is not None:

    class epoll:
        """Cooperative :class:`select.epoll` (wrapping one, as that type cannot be subclassed).

        ``poll()`` waits on the hub; everything else is the real epoll object's.
        """

        def __init__(self, sizehint: int = -1, flags: int = 0, *, _from: Any = None) -> None:
            self._epoll = _from if _from is not None else _epoll(sizehint, flags)

        @classmethod
        def fromfd(cls, fd: int) -> epoll:
            """Wrap an existing epoll fd."""
            return cls(_from=_epoll.fromfd(fd))  # type: ignore[return-value]  # (this epoll)

        @property
        def closed(self) -> bool:
            """True once closed."""
            return self._epoll.closed

        def close(self) -> None:
            """Close the epoll fd."""
            self._epoll.close()

        def fileno(self) -> int:
            """The epoll fd."""
            return self._epoll.fileno()

        def register(self, fd: Any, eventmask: int = _READ_MASK | _WRITE_MASK) -> None:
            """Watch ``fd`` (see :meth:`select.epoll.register`)."""
            self._epoll.register(fd, eventmask)

        def modify(self, fd: Any, eventmask: int) -> None:
            """Change the events watched on ``fd``."""
            self._epoll.modify(fd, eventmask)

        def unregister(self, fd: Any) -> None:
            """Stop watching ``fd``."""
            self._epoll.unregister(fd)

        def poll(self, timeout: float | None = None, maxevents: int = -1) -> list[tuple[int, int]]:
            """Like :meth:`select.epoll.poll` (``timeout`` in seconds; None or -1: forever)."""
            real = self._epoll
            result = real.poll(0, maxevents)
            if result:
                return result
            if timeout is None or (isinstance(timeout, (int, float)) and timeout < 0):
                seconds = None
            else:
                seconds = float(timeout)
                if seconds == 0:
                    return result
            hub = _get_hub()
            for remaining in time_left(hub, seconds):
                # The epoll fd is readable while any of its fds has an event.
                woken = hub.wait_fds([hub.fd_state(real.fileno())], [], remaining)
                result = real.poll(0, maxevents)
                if result or not woken:
                    return result
            return []

        def __enter__(self) -> epoll:
            if self._epoll.closed:
                raise ValueError("I/O operation on closed epoll object")
            return self  # type: ignore[return-value]  # (this epoll, not the stdlib's)

        def __exit__(self, *exc_info: Any) -> None:
            self.close()

        def __repr__(self) -> str:
            return f"<hub.select.epoll fd={self._epoll.fileno()} closed={self.closed}>"

    __all__ = sorted({*__all__, "epoll"})
