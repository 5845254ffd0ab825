"""Closing an fd that hubs watch: wake every waiter, in every thread, before the fd goes away.

The rule is the one ``Hub.notify_closing`` states: the owner of an fd tells the hubs *before* it
closes the fd, every greenlet waiting on it is woken with OSError(EBADF) (what the stdlib's calls
end with once the fd is gone), and each hub forgets its registration while the fd still refers to
the same open file. ``notify_fd_closing`` does that for the hubs of *all* threads: a socket
closed in one thread while greenlets of another thread wait on it (a blocking ``accept`` in a
server thread that the main thread stops, a ``select`` on a listener) wakes them at once instead
of leaving them until their timeout.

Another thread's hub, and why the order matters
===============================================

A hub's tables belong to its thread: only that thread may wake its waiters or edit its fd table,
so those steps are sent over with ``run_threadsafe``. The callback runs later, after the closing
thread has long called ``close()``; by then the fd *number* may already name a new file (the
kernel hands out the lowest free number, so reuse is immediate and common), which another socket
of that very hub may have registered. So nothing in the callback may act on the number:

- The epoll registration is removed *here, in the closing thread, before the close*
  (``epoll_ctl(EPOLL_CTL_DEL)`` may be called from any thread). Done in the callback it could
  remove the new file's registration, and that socket's next wait would never be woken; not done
  at all, a duplicate of the fd (``dup``, ``fork``) would keep the old file registered. (The
  level-triggered selectors fallback is a Python object that only its thread may touch: there
  the callback removes the entry, and only while the number still maps to the dying state.)
- The FdState is marked closed here too (``hub`` None, ``fd`` -1, not pollable), before the
  close. The hub's ``fd_state`` then treats the entry still in its table as absent and makes a
  fresh state for whatever file the number names next, instead of handing the dying one to a new
  owner; a cached owner sees ``st.hub`` is no longer its hub and asks again; a wait that starts on
  the dying state returns at once (not pollable) so its caller retries the call and gets the
  stdlib's error. Each of these single attribute stores is atomic under the GIL.
- The callback then acts on the FdState *object*: it removes the table entry only if it is still
  that object, and wakes that object's waiters with EBADF. Waiters registered on the state after
  the marking (a greenlet of that thread that was about to wait) are woken too: a greenlet
  registers before it switches to its hub, and the callback runs in the hub.

Events epoll queued before the removal may still arrive and wake the dying state's waiters with
"ready"; they retry, find the socket closed and raise its EBADF, or (select) report the fd as the
stdlib does. One race is left, and the stdlib has it too: a wait that *registers* in another
thread after ``notify_fd_closing`` looked at that thread's hub and before the close is not
woken (its registration disappears with the file), and ends by its timeout.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import Any

from ._io import FdState
from ._originals import get_ident
from ._registry import marks
from ._waiter import PENDING

__all__ = ["end_fd_state", "notify_fd_closing"]


def closed_error() -> OSError:
    """A fresh OSError(EBADF) for a waiter whose fd was closed."""
    return OSError(errno.EBADF, "File descriptor was closed in another greenlet")


def _mark_closed(st: FdState) -> None:
    st.fd = -1
    st.hub = None  # owners test only this to know their FdState is still good
    st.pollable = False  # a wait that starts now returns at once: the caller retries and fails
    st.edge = False


def end_fd_state(hub: Any, st: FdState, error: BaseException | None) -> None:
    """In ``hub``'s thread: mark ``st`` closed and wake its waiters with ``error`` (EBADF)."""
    _mark_closed(st)
    if st.reader is not None or st.writer is not None:  # usually nobody waits: skip this
        append = hub._ready.append
        for slot in (st.reader, st.writer):
            for w in slot if type(slot) is deque else (slot,):
                if w is not None and w[1] is PENDING:
                    w[1] = error if error is not None else closed_error()
                    append(w)
        st.reader = st.writer = None
    st.mask = 0


def _finish_remote_close(hub: Any, fd: int, st: FdState, error: BaseException | None) -> None:
    # In the hub's own thread, after the fd was closed: act on the object, never on the number.
    if hub._fds.get(fd) is st:
        del hub._fds[fd]
        if hub._level_triggered:
            # The selectors fallback is not thread-safe, so it was left alone at the close. Its
            # entry for the number is still the dying state's (no new state took the number
            # over in this hub, or it would have replaced the table entry): safe to drop.
            hub._poller.remove(fd)
    end_fd_state(hub, st, error)


def notify_fd_closing(fd: int, error: BaseException | None = None) -> None:
    """``fd`` is about to be closed by the calling thread: every hub that watches it forgets it.

    Call it *before* closing the fd. The calling thread's hub wakes its waiters at once
    (``Hub.notify_closing``); another thread's hub drops its epoll registration now and wakes its
    waiters as soon as it runs (see the module docstring). Each waiter raises ``error``, a fresh
    OSError(EBADF) by default.
    """
    if fd < 0:
        return
    me = None
    for ref in marks():
        mark = ref()
        hub = None if mark is None else mark.hub
        if hub is None:
            continue
        st = hub._fds.get(fd)
        if st is None or st is hub._wakeup_st or st.hub is not hub:
            continue
        if me is None:
            me = get_ident()
        if hub.thread_ident == me:
            hub.notify_closing(fd, error)
            continue
        _mark_closed(st)
        if not hub._level_triggered:
            hub._poller.remove(fd)  # epoll_ctl is thread-safe; the fd is still the same file
        hub.run_threadsafe(_finish_remote_close, hub, fd, st, error)
