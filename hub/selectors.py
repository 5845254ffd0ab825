"""A cooperative selectors module: each selector's ``select()`` waits on the hub.

The classes subclass the stdlib's, so registration, keys and results are exactly the stdlib's;
only the blocking part of ``select()`` changes. As in :mod:`hub.select`, a selector first asks
its system call with a zero timeout and waits on the hub only when nothing is ready.
"""

from __future__ import annotations

import errno as _errno
import selectors as _stdlib_selectors
from selectors import EVENT_READ, EVENT_WRITE, BaseSelector, SelectorKey
from typing import Any

from ._core import get_hub as _get_hub
from ._io_waits import time_left, wait_any

__all__ = [
    "EVENT_READ",
    "EVENT_WRITE",
    "BaseSelector",
    "DefaultSelector",
    "PollSelector",
    "SelectSelector",
    "SelectorKey",
]

_EVENT_READ = _stdlib_selectors.EVENT_READ
_EVENT_WRITE = _stdlib_selectors.EVENT_WRITE


class _CooperativeSelect:
    """Mixin: a cooperative ``select()`` on top of the stdlib selector's non-blocking one."""

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        ready = super().select(0)  # type: ignore[misc]
        if ready or (timeout is not None and timeout <= 0):
            return ready
        hub = _get_hub()
        for remaining in time_left(hub, timeout):
            woken, closed = self._wait(hub, remaining)
            if closed:
                return self._with_closed(closed)
            ready = super().select(0)  # type: ignore[misc]
            if ready or not woken:
                return ready
        return []

    def _with_closed(self, closed: set[int]) -> list[tuple[Any, int]]:
        """What the stdlib's blocking select answers once registered fds were closed meanwhile:
        each closed one with all the events it was registered for, and whatever else is ready.
        (Asked again, a select-based selector raises EBADF for the closed numbers: the blocking
        call does not, it reports them once.)"""
        keys = [key for key in self.get_map().values() if key.fd in closed]  # type: ignore[attr-defined]
        try:
            others = super().select(0)  # type: ignore[misc]
        except OSError as exc:
            if exc.errno != _errno.EBADF:
                raise
            others = []
        return [(key, key.events) for key in keys] + [
            (key, events) for key, events in others if key.fd not in closed
        ]

    def _wait(self, hub: Any, remaining: float | None) -> tuple[bool, set[int]]:
        """Wait until a registered fd may be ready: (False if ``remaining`` expired, the fds
        found closed, see hub._io_waits.wait_any)."""
        read_fds = []
        write_fds = []
        for key in self.get_map().values():  # type: ignore[attr-defined]
            if key.events & _EVENT_READ:
                read_fds.append(key.fd)
            if key.events & _EVENT_WRITE:
                write_fds.append(key.fd)
        return wait_any(read_fds, write_fds, remaining)


class SelectSelector(_CooperativeSelect, _stdlib_selectors.SelectSelector):
    """Cooperative :class:`selectors.SelectSelector`."""


__all__ = sorted(__all__)
DefaultSelector: type[BaseSelector] = SelectSelector

if hasattr(_stdlib_selectors, "PollSelector"):

    class PollSelector(_CooperativeSelect, _stdlib_selectors.PollSelector):
        """Cooperative :class:`selectors.PollSelector`."""

    DefaultSelector = PollSelector

if hasattr(_stdlib_selectors, "EpollSelector"):

    class EpollSelector(_CooperativeSelect, _stdlib_selectors.EpollSelector):
        """Cooperative :class:`selectors.EpollSelector`: waits on its epoll fd, one registration."""

        def _wait(self, hub: Any, remaining: float | None) -> tuple[bool, set[int]]:
            if not self.get_map():
                return super()._wait(hub, remaining)
            # The epoll fd is readable while any registered fd has an event. A registered fd
            # closed meanwhile is not reported: the kernel drops it from the epoll set, and the
            # stdlib's EpollSelector waits for its timeout too (and returns []).
            return hub.wait_fds([hub.fd_state(self.fileno())], [], remaining), set()

    DefaultSelector = EpollSelector
    __all__ = sorted([*__all__, "EpollSelector"])
