"""What the synchronisation objects share: waiter entries that know their hub, and delivery.

Waiter entries
==============

The core's waiter is a list ``[greenlet, value]`` (see ``hub._core._waiter``). The
synchronisation objects append a third item, the hub of the thread that waits::

    w = [greenlet, PENDING, hub]          # Event.wait, Semaphore.acquire, Queue.get, ...
    w = [greenlet, PENDING, hub, item]    # Queue.put while full: the item it offers

The core only ever reads items 0 and 1, so these are ordinary waiters to the hub. Item 2 is what
makes the objects safe across OS threads: whoever wakes a waiter must know whether the waiter
belongs to its own thread (claim it and queue it on that hub's ready queue, the fast path) or to
another thread (ask that hub to do it, through ``Hub.run_threadsafe``, the one hub method other
threads may call).

Locking
=======

Each thread-safe object guards its state (its waiter deques, its items, its counter) with a
plain ``_thread`` lock. It is held only for a few bytecodes, never across a switch and never
while user code runs (links run in the hub later), so it cannot deadlock between greenlets of
one thread; it costs ~0.1 us per operation, measured as a few percent of a wake-up.

Hand-over and hand-back
=======================

A wake-up that hands over something that must not be lost (a queue item, a semaphore permit)
removes the waiter from the object's deque and claims it in the same critical section, so a
waiter still in a deque is always unclaimed, or claimed by its own timeout (value ``TIMEOUT``:
wakers skip it). A waiter of another thread cannot be claimed from here: the waker removes it,
and :func:`deliver` asks its hub to claim it. If that waiter's wait ended meanwhile (timeout,
kill), the claim fails and ``on_fail(value)`` hands the item or permit back to the object, in
the waiter's thread. A waiter claimed in time that then unwinds with an exception (it was
killed before it ran) hands its value back itself, in its ``except`` clause.

Written out, not shared
=======================

Each wait in Event, the locks and the queues spells out the same few lines (the current greenlet
and its hub, ``[greenlet, PENDING, hub, ...]`` appended under the lock, suspend, abandon on an
exception) instead of calling a helper: measured on 2026-11-27, the call alone made Event,
Semaphore and Queue(maxsize=1) wake-ups 3.5-5.5% slower.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ._core import PENDING

__all__ = ["deliver", "remove_waiter"]


def remove_waiter(waiters: deque[Any], w: list[Any]) -> bool:
    """Remove ``w`` from ``waiters`` by identity; False if it was not there.

    Never ``deque.remove``: it compares lists by value, and two waiters of one greenlet that
    both timed out are equal. The ends are checked first: waits that time out in the order they
    started (the usual case, e.g. many waiters with one timeout) leave from the left end, O(1).
    """
    if not waiters:
        return False
    if waiters[0] is w:
        waiters.popleft()
        return True
    if waiters[-1] is w:
        waiters.pop()
        return True
    for i, x in enumerate(waiters):
        if x is w:
            del waiters[i]
            return True
    return False


def deliver(hub: Any, w: list[Any], value: Any, on_fail: Callable[[Any], Any] | None) -> None:
    """Wake ``w``, a waiter of another thread's ``hub``, with ``value``, from any thread.

    The claim itself runs in the waiter's thread (only there can it be ordered against the
    waiter's own timeout and kill). A destroyed hub will run nothing any more: hand the value
    back at once.
    """
    if hub._destroyed:
        if on_fail is not None:
            on_fail(value)
        return
    hub.run_threadsafe(_claim, hub, w, value, on_fail)


def _claim(hub: Any, w: list[Any], value: Any, on_fail: Callable[[Any], Any] | None) -> None:
    # Runs in the hub of the waiter's thread. ``w[0] is None`` means its wait is over (killed
    # while the value was on its way): the core would drop the entry, so we must not claim it.
    if w[0] is not None and w[1] is PENDING:
        w[1] = value
        hub._ready.append(w)
    elif on_fail is not None:
        on_fail(value)
