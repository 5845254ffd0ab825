"""A hub after ``fork()``: the child's own epoll instance and wake-up fd, the same fd table.

A mixin of ``Hub`` (``_hub.py``); ``_hub._after_fork_in_child`` (registered with
``os.register_at_fork``) and ``reinit()`` call it in the child.
"""

from __future__ import annotations

from collections.abc import Callable

from ._io import UNPOLLABLE, HubIO

__all__ = ["ForkReinit"]


class ForkReinit(HubIO):
    """What ``Hub`` does in a forked child (see the module docstring)."""

    __slots__ = ()
    _setup_io: Callable[[], None]
    notify_closing: Callable[[int], None]

    def _reinit_after_fork(self) -> None:
        # The child shares the parent's epoll instance and eventfd: replace both, and register
        # again the fds we still know about. The fd table is emptied in place, never replaced:
        # the loop that was running when the parent forked holds it in a local variable, and
        # would otherwise dispatch the child's events against a dead copy and lose them.
        old_fds = dict(self._fds)
        try:
            self._poller.close()
        except OSError:
            pass
        self._wakeup.close()
        self._fds.clear()
        self._setup_io()
        for fd, st in old_fds.items():
            if st is self._wakeup_st or fd == self._wakeup_st.fd:
                continue
            try:
                st.pollable = self._poller.add(fd) != UNPOLLABLE
                st.edge = st.pollable and not self._level_triggered
            except OSError:
                # The fd was closed behind the hub's back before the fork (EBADF): end its state
                # as notify_closing would, so its waiters get EBADF and its owner a fresh one.
                self._fds[fd] = st
                self.notify_closing(fd)
                continue
            self._fds[fd] = st
            if self._level_triggered:
                st.mask = 0
                self._poller.update(st)
