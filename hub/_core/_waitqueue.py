"""WaitQueue: the one wait queue every synchronisation object is built on.

Event, AsyncResult, the semaphores and locks, Condition, the queues, Channel, thread-pool
results, TaskGroup and ``Greenlet.join`` differ only in *policy*: when a greenlet must wait, and
whom a change wakes with what. The *protocol* is the same everywhere and lives here, once
(trio's ParkingLot and curio's scheduler queues are the models):

- ``park()``: the current greenlet waits in the queue until it is claimed (or its timeout
  expires, or an exception is thrown in);
- ``claim_first(value)``: wake the longest waiter with ``value``; ``claim_all(value)``: wake
  every waiter; ``take_offer()``: take what the longest waiter offers (a blocked ``Queue.put``'s
  item) and wake it.

Entries
=======

A waiter is the core's list entry (``_waiter``) with two more items::

    w = [greenlet, PENDING, hub, offer]

The hub reads only items 0 and 1. Item 2, the hub of the waiting thread, makes every queue safe
across OS threads: a claimer in the waiter's own thread claims it and queues it on that hub's
ready queue (the fast path); a claimer in another thread asks the waiter's hub to do so, through
``Hub.run_threadsafe``, the one hub method other threads may call. Item 3 is what the waiter
offers (``Queue.put``'s item), ``WATCH`` for a waiter that only wants to see the next value
without consuming it (``Queue.peek``), or None.

The rules, and the one place they are kept
==========================================

The queue is a deque subclass, so ``if queue:`` and ``len(queue)`` cost what they cost on a deque
(the queues' lock-free fast paths test them on every operation). Every method but ``park`` is
called with the owner's lock held (``lock`` below: a real OS lock from the captured originals,
held for a few bytecodes, never across a switch; or None when the owner is used from one thread
only), so the deque never changes under a claimer's feet.

1. *Register before switching.* ``park`` appends the entry, then releases ``lock``, then switches
   to the hub: a claim that comes after the release finds the entry; none can be lost.
2. *Claim and remove in one step.* A claimer pops the entry and sets its value in the same
   critical section. An entry still in the deque is therefore unclaimed (``PENDING``) or claimed
   by its own timeout (``TIMEOUT``); claimers skip the latter.
3. *Abandon in one place.* A wait that ends without its claim (timeout, kill, ``Timeout``)
   removes its entry under the lock. A waiter that was claimed but unwinds with an exception
   (killed after the claim, before it ran) cannot use what it was handed: ``park`` passes it to
   the owner's ``hand_back(value)`` (a permit goes back to the semaphore, an item to the queue).
   A waiter whose offer was taken (``TAKEN``) succeeded, even if its timeout fired meanwhile.
4. *Other threads claim through the waiter's hub.* The claimer pops the entry and queues
   ``_claim`` on the waiter's hub. There the claim is ordered against the waiter's own timeout
   and kill; if the wait ended meanwhile, the claim fails and ``hand_back(value)`` runs in the
   waiter's thread. A waiter of a destroyed hub will never run again: it is dropped and the
   value goes to the next waiter.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent

from ._hub import get_hub
from ._originals import get_ident
from ._waiter import PENDING, TIMEOUT, _Marker

__all__ = ["NOTHING", "TAKEN", "WATCH", "WaitQueue", "WaitQueueStatistics"]

#: ``offer`` of a waiter that sees the value a ``claim_first`` hands over without consuming it.
WATCH: Any = _Marker("WATCH")
#: Item 3 of an offering waiter once ``take_offer`` took its offer.
TAKEN: Any = _Marker("TAKEN")
#: What ``take_offer`` returns when no waiter offers anything.
NOTHING: Any = _Marker("NOTHING")


class WaitQueueStatistics:
    """What ``WaitQueue.statistics()`` reports: ``waiting``, the entries in the queue.

    (An entry whose timeout fired but whose greenlet has not run yet still counts.)
    """

    __slots__ = ("waiting",)

    def __init__(self, waiting: int) -> None:
        self.waiting = waiting

    def __repr__(self) -> str:
        return f"WaitQueueStatistics(waiting={self.waiting})"


class WaitQueue(deque):  # type: ignore[type-arg]
    """A FIFO of waiting greenlets; see the module documentation for the protocol."""

    __slots__ = ()

    def park(
        self,
        lock: Any,
        timeout: float | None = None,
        offer: Any = None,
        hand_back: Callable[[Any, Any], Any] | None = None,
        owner: Any = None,
    ) -> Any:
        """Wait in the queue until claimed; return the claim's value, or ``TIMEOUT``.

        Call it with ``lock`` held (None: no lock), after deciding that the caller must wait;
        ``park`` releases it. It is ``enqueue`` then ``wait`` (see them), for a caller with
        nothing to re-check in between.
        """
        # (The hottest waits spell these steps out, each with the figure that pays for it:
        # Semaphore.acquire, Event.wait, Queue.get.)
        return self.wait(self.enqueue(offer), lock, timeout, hand_back, owner)

    def enqueue(self, offer: Any = None) -> list[Any]:
        """Register the current greenlet (lock held); returns the entry to pass to ``wait``.

        Between the two the caller may re-check its condition and claim entries (its own
        included), e.g. when a lock-free operation of another thread may have run just before
        the registration.
        """
        g = getcurrent()
        try:
            h = g._hub
        except AttributeError:
            h = get_hub()
        w = [g, PENDING, h, offer]
        self.append(w)
        return w

    def wait(
        self,
        w: list[Any],
        lock: Any,
        timeout: float | None = None,
        hand_back: Callable[[Any, Any], Any] | None = None,
        owner: Any = None,
    ) -> Any:
        """Release ``lock`` and wait until ``w`` is claimed; the claim's value, or ``TIMEOUT``.

        An offering waiter returns True when its offer was taken, even if its timeout expired
        meanwhile. An exception thrown into the wait propagates, after ``hand_back(owner, x)``
        got back what the waiter held: the value ``x`` a claim had already handed it, or (an
        offering waiter) its offer, if nobody took it. (A plain function and its owner rather
        than a bound method: a bound method made per wait costs ~400 instructions.)
        """
        if lock is not None:
            lock.release()
        try:
            value = w[2].suspend(w, timeout)
        except BaseException:
            self.unwind(lock, w, hand_back, owner)
            raise
        if value is TIMEOUT:
            return self.abandon(lock, w)
        return value

    def unwind(
        self, lock: Any, w: list[Any], hand_back: Callable[[Any, Any], Any] | None, owner: Any
    ) -> None:
        """An exception ends the wait of ``w``: leave the queue, hand back what it held."""
        value = self.abandon(lock, w)
        if hand_back is not None:
            offer = w[3]
            if offer is None or offer is WATCH:
                if value is not TIMEOUT:
                    hand_back(owner, value)  # a claim's value it cannot use now
            elif value is TIMEOUT:
                hand_back(owner, offer)  # an offer nobody took

    def abandon(self, lock: Any, w: list[Any]) -> Any:
        """The wait of ``w`` ended without (or despite) a claim; takes ``lock``.

        TIMEOUT if the entry left the queue here, True if its offer was taken, else the value
        it was claimed with.
        """
        if lock is not None:
            lock.acquire()
        value = w[1]
        if w[3] is TAKEN:
            value = True
        elif value is PENDING or value is TIMEOUT:
            self._remove(w)
            value = TIMEOUT
        if lock is not None:
            lock.release()
        return value

    def _remove(self, w: list[Any]) -> None:
        # By identity, never deque.remove (it compares lists by value, and two timed-out
        # waiters of one greenlet are equal). The ends first: waits that time out in the order
        # they started (many waiters, one timeout) leave from the left, O(1). Absent: a claimer
        # of another thread took it and its claim is on the way (rule 4).
        if not self:
            return
        if self[0] is w:
            self.popleft()
        elif self[-1] is w:
            self.pop()
        else:
            for i, x in enumerate(self):
                if x is w:
                    del self[i]
                    return

    def claim_first(
        self,
        value: Any,
        hand_back: Callable[[Any, Any], Any] | None = None,
        owner: Any = None,
    ) -> bool:
        """Wake the longest waiter with ``value``; False if nobody waits (lock held).

        Watchers on the way (``WATCH``) see ``value`` too. ``hand_back(owner, value)`` runs in
        the waiter's thread if a waiter of another thread turns out to have left meanwhile.
        """
        ident = get_ident()
        while self:
            w = self.popleft()
            h = w[2]
            if h.thread_ident == ident:
                if w[1] is PENDING:  # else its timeout claimed it first: skip it
                    w[1] = value
                    h._ready.append(w)
                    if w[3] is not WATCH:
                        return True
            elif not h._destroyed:
                if w[3] is WATCH:
                    h.run_threadsafe(_claim, h, w, value, None, None)
                else:
                    h.run_threadsafe(_claim, h, w, value, hand_back, owner)
                    return True
        return False

    def claim_all(self, value: Any) -> None:
        """Wake every waiter with ``value`` (lock held); nothing is handed over, so nothing is
        handed back."""
        ident = get_ident()
        local: Any = None
        ready: Any = None
        foreign: dict[Any, list[list[Any]]] | None = None
        for w in self:
            h = w[2]
            if h is not local:
                if h.thread_ident != ident:
                    if foreign is None:
                        foreign = {}
                    foreign.setdefault(h, []).append(w)
                    continue
                local = h
                ready = h._ready
            if w[1] is PENDING:
                w[1] = value
                ready.append(w)
        self.clear()
        if foreign:
            for h, ws in foreign.items():
                if not h._destroyed:
                    h.run_threadsafe(_claim_each, h, ws, value)

    def take_offer(self) -> Any:
        """Take the offer of the longest waiter still waiting and wake it with True (lock
        held); ``NOTHING`` if none offers anything."""
        ident = get_ident()
        while self:
            w = self.popleft()
            h = w[2]
            if h.thread_ident == ident:
                if w[1] is not PENDING:
                    continue  # timed out, not resumed yet: its wait fails
                w[1] = True
                h._ready.append(w)
            elif h._destroyed:
                continue
            else:
                # Its wait succeeded now, whatever happens to the wake-up on its way: the
                # waiter sees TAKEN even if it times out meanwhile.
                h.run_threadsafe(_claim, h, w, True, None, None)
            offer = w[3]
            w[3] = TAKEN
            return offer
        return NOTHING

    def first_offer(self) -> Any:
        """What the longest waiter still waiting offers, left in place; ``NOTHING`` if none."""
        for w in self:
            if w[1] is PENDING:
                return w[3]
        return NOTHING

    def waiting(self, watchers: bool = True) -> int:
        """Entries still unclaimed (``watchers=False``: not counting ``WATCH`` entries)."""
        return sum(1 for w in self if w[1] is PENDING and (watchers or w[3] is not WATCH))

    def statistics(self) -> WaitQueueStatistics:
        """How many wait (for tests and debugging; see :class:`WaitQueueStatistics`)."""
        return WaitQueueStatistics(len(self))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} waiting={len(self)}>"

    __eq__ = object.__eq__  # type: ignore[assignment]  # identity, not deque equality
    __hash__ = object.__hash__  # type: ignore[assignment]


def _claim(
    hub: Any, w: list[Any], value: Any, hand_back: Callable[[Any, Any], Any] | None, owner: Any
) -> None:
    # In the waiter's hub (rule 4). ``w[0] is None``: its wait is over (the core would drop the
    # entry), so it must not be claimed.
    if w[0] is not None and w[1] is PENDING:
        w[1] = value
        hub._ready.append(w)
    elif hand_back is not None:
        hand_back(owner, value)


def _claim_each(hub: Any, waiters: list[list[Any]], value: Any) -> None:
    ready = hub._ready
    for w in waiters:
        if w[0] is not None and w[1] is PENDING:
            w[1] = value
            ready.append(w)
