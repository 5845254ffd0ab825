"""The hub's fd waits: registration, waiting for readiness, closing, and the poll dispatch.

A mixin of ``Hub`` (``_hub.py``), which owns the attributes these methods use: ``_fds`` (fd ->
FdState), ``_poller``, ``_level_triggered``, ``_ready``, ``_wakeup_st``. ``_io.py`` has the
FdState, the pollers, and the essay on why edge-triggered epoll used this way is sound.
"""

from __future__ import annotations

import errno
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent

from ._closing import end_fd_state
from ._errors import BlockingSwitchOutError
from ._io import NEW, UNPOLLABLE, FdState, FdStatistics, HubIO, add_waiter, remove_waiter
from ._waiter import PENDING, TIMEOUT

__all__ = ["FdWaits"]


class FdWaits(HubIO):
    """What ``Hub`` does with fds (see the module docstring)."""

    __slots__ = ()
    _ready: deque[Any]
    suspend: Callable[..., Any]
    loop_turns: int

    def fd_statistics(self, fd: int) -> FdStatistics | None:
        """``FdState.statistics()`` of ``fd``, or None if the hub does not know it."""
        st = self._fds.get(fd)
        return None if st is None or st is self._wakeup_st else st.statistics()

    def fd_known(self, fd: int) -> bool:
        """True if ``fd`` has an FdState here (``fd_state`` made it and ``notify_closing`` has
        not ended it)."""
        return fd in self._fds

    def fd_state(self, fd: int) -> FdState:
        """The FdState of ``fd``, registered with the poller now (one syscall; see ``_io``).

        An owner (a socket) calls this once and keeps the result; ``notify_closing`` ends it.
        """
        st = self._fds.get(fd)
        if st is None or st.hub is None:
            # (An entry whose hub is None was closed by another thread and awaits its callback:
            # the number may already name a new file, which gets a state of its own. _closing.)
            if fd < 0:
                # A closed socket's fileno(): the stdlib's error for a call on it, not the
                # poller's ValueError for a negative number.
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
            st = self._fds[fd] = FdState(self, fd)
        try:
            added = self._poller.add(fd)
        except BaseException:
            del self._fds[fd]
            raise
        st.pollable = added != UNPOLLABLE
        st.edge = st.pollable and not self._level_triggered
        # A new registration reports data already waiting as an edge at the next poll, so the
        # buffer counts as drained until an edge says otherwise (a reader waits for that poll
        # instead of failing a recv first). An fd that was registered already may have had its
        # edges go unheard: it may hold data.
        st.readable = added != NEW
        return st

    def wait_fd(self, st: FdState, write: bool, timeout: float | None = None) -> bool:
        """Wait until ``st.fd`` may be writable (or readable): True, or False on timeout.

        Raises OSError(EBADF) if the fd is closed meanwhile (``notify_closing``). A True result is
        a hint, not a promise: retry the operation and wait again on EAGAIN.
        """
        if not st.pollable:
            return True
        # The switching rule: register, suspend, unregister in finally. One waiter per fd is the
        # common case. hub.socket.socket.recv spells out the same steps for its blocking wait
        # (no timeout, edge-triggered): keep them alike.
        cur: Any = getcurrent()
        if cur is self:
            raise BlockingSwitchOutError("cannot wait for IO in the hub (from a callback)")
        w = [cur, PENDING]
        if write:
            slot = st.writer
            st.writer = w if slot is None else add_waiter(slot, w)
        else:
            slot = st.reader
            st.reader = w if slot is None else add_waiter(slot, w)
        try:
            if self._level_triggered:
                # Inside the try: if the selector refuses the fd (closed by another thread a
                # moment ago), the finally still takes the waiter back out of the slot.
                self._poller.update(st)
            value = self.suspend(w, timeout)
        finally:
            if write:
                slot = st.writer
                if slot is w:
                    st.writer = None
                elif slot is not None:
                    st.writer = remove_waiter(slot, w)
            else:
                slot = st.reader
                if slot is w:
                    st.reader = None
                elif slot is not None:
                    st.reader = remove_waiter(slot, w)
            if self._level_triggered and st.fd >= 0:
                self._poller.update(st)
        if value is True:
            return True
        if value is TIMEOUT:
            return False
        raise value

    def wait_fds(
        self, readers: list[FdState], writers: list[FdState], timeout: float | None = None
    ) -> bool:
        """Wait until any fd of ``readers`` may be readable or any of ``writers`` writable.

        The building block of select() and selectors: True when woken by an fd, False on timeout.
        """
        w = [getcurrent(), PENDING]
        watched = (*readers, *writers)
        for st in watched:
            if not st.pollable:
                return True
        for st in readers:
            st.reader = add_waiter(st.reader, w)
        for st in writers:
            st.writer = add_waiter(st.writer, w)
        update = self._poller.update if self._level_triggered else None
        try:
            if update is not None:  # inside the try: see wait_fd
                for st in watched:
                    update(st)
            value = self.suspend(w, timeout)
        finally:
            for st in readers:
                if st.reader is not None:
                    st.reader = remove_waiter(st.reader, w)
            for st in writers:
                if st.writer is not None:
                    st.writer = remove_waiter(st.writer, w)
            if update is not None:
                for st in watched:
                    if st.fd >= 0:
                        update(st)
        return _woken(value)

    def notify_closing(self, fd: int, error: BaseException | None = None) -> None:
        """``fd`` is about to be closed: wake its waiters with ``error`` and forget it.

        Call it *before* closing the fd (the poller must still see the same file). Each waiter
        raises ``error`` (a fresh OSError(EBADF) each by default), the stdlib's outcome for a
        blocking call on a socket another thread closed. This hub only, from its own thread:
        ``hub._core.notify_fd_closing(fd)`` tells the hubs of all threads (what sockets call).
        """
        st = self._fds.pop(fd, None)
        if st is None or st is self._wakeup_st:
            if st is not None:
                self._fds[fd] = st
            return
        self._poller.remove(fd)
        end_fd_state(self, st, error)

    def cancel_wait(self, fd: int, error: BaseException) -> None:
        """Wake every greenlet waiting on ``fd`` with ``error`` raised in it; ``fd`` stays open
        and registered (``hub.socket.cancel_wait``; :meth:`notify_closing` is for closing)."""
        st = self._fds.get(fd)
        if st is None or st is self._wakeup_st:
            return
        for slot in (st.reader, st.writer):
            for w in slot if type(slot) is deque else (slot,):
                if w is not None and w[1] is PENDING:
                    w[1] = error
                    self._ready.append(w)
        st.reader = st.writer = None
        if self._level_triggered:
            self._poller.update(st)

    def _poll_and_dispatch(
        self, timeout: float, fds: dict[int, FdState], read_events: int, write_events: int
    ) -> int:
        poller = self._poller
        # The monitor's liveness signal (see loop_turns): odd while polling. finally keeps the
        # parity right when a signal handler raises out of the poll.
        self.loop_turns += 1  # type: ignore[misc]  # a slot of Hub's; mypy checks the mixin's empty __slots__
        try:
            events = poller.poll(timeout)
        finally:
            self.loop_turns += 1  # type: ignore[misc]  # a slot of Hub's; mypy checks the mixin's empty __slots__
        append = self._ready.append
        hangup_events = poller.HANGUP_EVENTS
        for fd, ev in events:
            try:
                st = fds[fd]  # (a subscript is cheaper than fds.get; misses are rare)
            except KeyError:
                continue  # an fd the hub no longer knows: a duplicate's events (see _io)
            if ev & read_events:
                st.readable = True
                if ev & hangup_events:
                    st.hung_up = True
                w = st.reader
                if w is not None:
                    st.reader = None
                    if type(w) is deque:
                        _wake_each(w, append)
                    elif w[1] is PENDING:
                        w[1] = True
                        append(w)
            w = st.writer
            if w is not None and ev & write_events:
                # Rarely anybody waits to write: the call costs nothing that matters here, and
                # the reader's inline copy above (the hot path) stays the only one.
                st.writer = None
                _wake_slot(w, append)
        return len(events)

    def _io_awaited(self) -> bool:
        wakeup_st = self._wakeup_st
        for st in self._fds.values():
            if (st.reader is not None and st is not wakeup_st) or st.writer is not None:
                return True
        return False


def _wake_each(waiters: deque[list[Any]], append: Callable[[Any], None]) -> None:
    """Claim and queue every waiter of an fd slot that held several (see FdState)."""
    for w in waiters:
        if w[1] is PENDING:
            w[1] = True
            append(w)


def _wake_slot(slot: Any, append: Callable[[Any], None]) -> None:
    """Claim and queue the waiter(s) of an fd slot: one waiter, or a deque of several."""
    if type(slot) is deque:
        _wake_each(slot, append)
    elif slot[1] is PENDING:
        slot[1] = True
        append(slot)


def _woken(value: Any) -> bool:
    # What a wait's waiter was handed: True (an fd event), TIMEOUT, or the exception to raise
    # (EBADF from notify_closing, an exception thrown in). wait_fd spells this out inline (its
    # hot path); wait_fds, once per select(), calls it.
    if value is True:
        return True
    if value is TIMEOUT:
        return False
    raise value
