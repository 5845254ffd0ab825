"""Cross-thread calls into a hub: ``run_threadsafe``, and the wake-up that delivers them.

A mixin of ``Hub`` (``_hub.py``), which owns ``_threadsafe`` (the queue of calls), ``_wakeup``
(the eventfd or pipe, ``_wakeup.py``), ``_wake_pending`` and ``_wakeup_entry``/``_wakeup_st``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ._io import HubIO
from ._waiter import PENDING, Callback

__all__ = ["CrossThread"]


class CrossThread(HubIO):
    """What ``Hub`` does for other threads (see the module docstring)."""

    __slots__ = ()
    _threadsafe: deque[tuple[Callable[..., Any], tuple[Any, ...]]]
    _wake_pending: bool
    _wakeup_entry: Callback
    _ready: deque[Any]

    def run_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in this hub's thread soon; callable from any thread.

        This is the only hub method another thread may call. It wakes the hub if it sleeps.
        """
        self._threadsafe.append((fn, args))
        if not self._wake_pending:
            self._wake_pending = True  # type: ignore[misc]  # Hub's attribute; mypy checks the mixin's empty __slots__
            self._wakeup.wake()

    def _on_wakeup(self) -> None:
        # Another thread called run_threadsafe. The order matters: drain the eventfd, then clear
        # the flag, then empty the queue. A call that lands after the flag is cleared writes a
        # new wake-up; one that saw the flag still set had queued its item before, so the queue
        # drain below takes it. (Clearing the flag before draining the eventfd could swallow a
        # write made in between and leave the flag set for good: a lost wake-up.)
        self._wakeup.drain()
        self._wake_pending = False  # type: ignore[misc]  # Hub's attribute; mypy checks the mixin's empty __slots__
        entry = self._wakeup_entry
        entry[0] = entry
        entry[1] = PENDING
        self._wakeup_st.reader = entry
        queue = self._threadsafe
        ready = self._ready
        while queue:
            fn, args = queue.popleft()
            cb = Callback(fn, args)
            cb[1] = None
            ready.append(cb)
