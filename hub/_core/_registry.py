"""Which threads have a hub: the one place the core looks when it must reach every hub.

Two jobs need the hubs of *other* threads: closing an fd that another thread's hub watches
(``_closing``) and parking daemon threads' hubs before the interpreter finalizes (``_exit``).
Each thread that gets a hub gets a small mark in a thread-local; the registry keeps only weak
references to the marks. A thread's thread-local values are released when the thread ends, so a
dead thread's mark dies with it and its hub (which may live on in a reference cycle until the
garbage collector runs) is no longer listed. Registration happens once per thread (``set_hub``),
never on a hot path.
"""

from __future__ import annotations

import weakref
from typing import Any

from ._originals import RealThreadLocal, allocate_lock

__all__ = ["live_hubs", "marks", "note_hub"]


class _Mark:
    """The calling thread's entry: its current hub (None once it was forgotten)."""

    __slots__ = ("__weakref__", "hub")

    def __init__(self) -> None:
        self.hub: Any = None


_local = RealThreadLocal()
_marks: list[weakref.ref[_Mark]] = []
# What readers iterate: rebuilt under the lock at each registration, read without it (a tuple
# replaced in one store), so closing a socket pays no lock and no copy.
_snapshot: tuple[weakref.ref[_Mark], ...] = ()
_lock = allocate_lock()


def note_hub(hub: Any) -> None:
    """Record ``hub`` (or None) as the calling thread's hub."""
    global _snapshot
    mark = getattr(_local, "mark", None)
    if mark is None:
        if hub is None:
            return
        mark = _local.mark = _Mark()
        with _lock:
            # Drop the entries of threads that ended, so the list stays as long as the number of
            # live threads with a hub.
            _marks[:] = [ref for ref in _marks if ref() is not None]
            _marks.append(weakref.ref(mark))
            _snapshot = tuple(_marks)
    mark.hub = hub


def marks() -> tuple[weakref.ref[_Mark], ...]:
    """Weak references to each thread's mark (dead ones included): ``ref()`` is None once its
    thread ended, ``ref().hub`` the thread's hub or None. For loops that must not allocate."""
    return _snapshot


def live_hubs() -> list[Any]:
    """The hubs of all threads that are still alive (the caller's included)."""
    hubs = []
    for ref in _snapshot:
        mark = ref()
        if mark is not None and mark.hub is not None:
            hubs.append(mark.hub)
    return hubs
