"""``_imp``'s import lock under ``patch_thread()``: which greenlet holds it, for fork.

Python's fork takes the global import lock first (PyOS_BeforeFork), so a child never sees a
module that another thread was half-way through importing with the lock held. That lock
belongs to the OS thread, and every green thread is the same OS thread: the fork takes it at
once, even while another green thread holds it across a wait (imp.acquire_lock(), then a
sleep). That thread then never finishes in the child. So patch_thread() makes
_imp.acquire_lock/release_lock note which greenlet holds the C lock (they still take it, and
greenlets still share it as before; importlib itself never holds it across a switch), and
the fork waits, cooperatively, before Python's own hooks, until no other greenlet holds it.
"""

from __future__ import annotations

import _imp
from typing import Any

from greenlet import getcurrent

from ._core import Hub
from ._event import Event

__all__ = ["acquire_lock", "release_lock", "wait_for_import_lock"]

_real_acquire_import_lock = _imp.acquire_lock
_real_release_import_lock = _imp.release_lock
# Greenlet -> depth, for the greenlets holding the import lock; the Event a fork waits on.
_import_lock_holders: dict[Any, int] = {}
_import_lock_released: list[Event | None] = [None]


def acquire_lock() -> None:
    """``_imp.acquire_lock``: take the import lock, noting which greenlet holds it."""
    _real_acquire_import_lock()
    g = getcurrent()
    _import_lock_holders[g] = _import_lock_holders.get(g, 0) + 1


def release_lock() -> None:
    """``_imp.release_lock``: release the import lock taken by :func:`acquire_lock`."""
    _real_release_import_lock()  # RuntimeError if this OS thread does not hold it
    g = getcurrent()
    depth = _import_lock_holders.pop(g, 0) - 1
    if depth > 0:
        _import_lock_holders[g] = depth
    else:
        released = _import_lock_released[0]
        if released is not None:
            released.set()


acquire_lock.__module__ = release_lock.__module__ = "_imp"


def wait_for_import_lock() -> None:
    """Before a fork: wait until no other greenlet holds the import lock (see above)."""
    me = getcurrent()
    if isinstance(me, Hub):
        return  # a callback cannot wait; Python's fork takes the lock as it is
    while any(g is not me and not g.dead for g in _import_lock_holders):
        released = _import_lock_released[0] = Event()
        try:
            released.wait()
        finally:
            _import_lock_released[0] = None
