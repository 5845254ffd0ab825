"""A cooperative selectors module: each selector's ``select()`` waits on the hub.

The classes subclass the stdlib's, so registration, keys and results are exactly the stdlib's;
only the blocking part of ``select()`` changes. As in :mod:`hub.select`, a selector first asks
its system call with a zero timeout and waits on the hub only when nothing is ready.
"""

from __future__ import annotations

import selectors as _stdlib_selectors
from selectors import EVENT_READ, EVENT_WRITE, BaseSelector, SelectorKey
from typing import Any

from greenlet import getcurrent as _getcurrent

from ._core import PENDING
from ._core import get_hub as _get_hub

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
        deadline = None if timeout is None else hub.clock() + timeout
        while True:
            remaining = None if deadline is None else deadline - hub.clock()
            if remaining is not None and remaining <= 0:
                return []
            woken = self._wait(hub, remaining)
            ready = super().select(0)  # type: ignore[misc]
            if ready or not woken:
                return ready

    def _wait(self, hub: Any, remaining: float | None) -> bool:
        """Wait until a registered fd may be ready; False if ``remaining`` expired."""
        readers = []
        writers = []
        for key in self.get_map().values():  # type: ignore[attr-defined]
            st = hub.fd_state(key.fd)
            if key.events & _EVENT_READ:
                readers.append(st)
            if key.events & _EVENT_WRITE:
                writers.append(st)
        if not readers and not writers:
            # Nothing registered: wait out the timeout (forever means LoopExit if nothing runs).
            hub.suspend([_getcurrent(), PENDING], remaining)
            return False
        return hub.wait_fds(readers, writers, remaining)


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

        def _wait(self, hub: Any, remaining: float | None) -> bool:
            if not self.get_map():
                return super()._wait(hub, remaining)
            # The epoll fd is readable while any registered fd has an event.
            return hub.wait_fds([hub.fd_state(self.fileno())], [], remaining)

    DefaultSelector = EpollSelector
    __all__ = sorted([*__all__, "EpollSelector"])
