"""Queues for greenlets, like the stdlib's ``queue`` module (and gevent's ``gevent.queue``).

- :class:`Queue` (FIFO), :class:`LifoQueue`, :class:`PriorityQueue`: ``put``/``get`` with
  ``block`` and ``timeout``, ``*_nowait``, ``qsize``, ``empty``, ``full``, ``peek``, iteration;
- :class:`JoinableQueue`: adds ``task_done()`` and ``join()``;
- :class:`SimpleQueue`: an unbounded FIFO with the stdlib's ``SimpleQueue`` API;
- :class:`Channel`: no buffer at all; ``put`` waits until a getter takes the item.

They raise the stdlib's :class:`queue.Empty` and :class:`queue.Full`, so existing ``except``
clauses keep working. ``maxsize`` None or <= 0 means unbounded, as in the stdlib. Items are
handed straight to waiting getters (and taken straight from waiting putters), in FIFO order of
the waiters. Every method may be called from any OS thread; greenlets of other threads are woken
through their hubs (see ``hub._core._waitqueue``).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from heapq import heapify, heappop, heappush
from queue import Empty, Full
from typing import Any, Generic, NoReturn, TypeVar

from greenlet import getcurrent

from ._core import (
    NOTHING,
    PENDING,
    TIMEOUT,
    WATCH,
    WaitQueue,
    allocate_lock,
    get_hub,
    get_ident,
)
from ._event import Event

__all__ = [
    "Channel",
    "Empty",
    "Full",
    "JoinableQueue",
    "LifoQueue",
    "PriorityQueue",
    "Queue",
    "QueueStatistics",
    "ShutDown",
    "SimpleQueue",
]

_T = TypeVar("_T")
_UNBOUNDED = sys.maxsize


class QueueStatistics:
    """What ``Queue.statistics()`` reports: ``qsize``, and the greenlets waiting to get
    (``getters``, peekers included) and to put (``putters``)."""

    __slots__ = ("getters", "putters", "qsize")

    def __init__(self, qsize: int, getters: int, putters: int) -> None:
        self.qsize = qsize
        self.getters = getters
        self.putters = putters

    def __repr__(self) -> str:
        return (
            f"QueueStatistics(qsize={self.qsize}, getters={self.getters}, putters={self.putters})"
        )


if sys.version_info >= (3, 13):
    from queue import ShutDown
else:

    class ShutDown(Exception):
        """Raised by ``put`` on a queue that was shut down, and by ``get`` once it is empty.

        ``queue.ShutDown`` itself from Python 3.13 on, so ``except queue.ShutDown`` catches it.
        """


def _fail_waiter(w: list[Any]) -> None:
    # Runs in the hub of the waiter's thread: end a blocked put or get with ShutDown. The claim
    # (TIMEOUT: "nothing was handed over") keeps anybody else from waking it meanwhile; a wait
    # that already ended another way (w[0] is None: killed, timed out) is left alone.
    g = w[0]
    if g is not None and w[1] is PENDING:
        w[1] = TIMEOUT
        g.throw(ShutDown())


def _check_timeout(timeout: float) -> None:
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


class Queue(Generic[_T]):
    """A FIFO queue for greenlets: ``Queue(maxsize=None, items=())``.

    ``put(item, block=True, timeout=None)`` waits while the queue is full and raises
    :class:`queue.Full` if it times out (at once if ``block`` is false); ``get(block=True,
    timeout=None)`` waits while it is empty and raises :class:`queue.Empty`. Iterating a queue
    gets items until it gets ``StopIteration`` (put that to end a consumer's ``for`` loop).
    """

    # Fast paths. ``get`` pops without the lock (deque.popleft is one atomic C call), and so
    # does ``put`` on an unbounded queue (deque.append); everything that involves waiters
    # takes the lock. Lost wake-ups across threads are ruled out by ordering: the lock-free
    # side changes the items first and looks for waiters second, the waiting side registers
    # first and looks at the items again second, so at least one of them sees the other and
    # serves the waiters under the lock. Between greenlets of one thread nothing interleaves.

    __slots__ = (
        "__weakref__",
        "_append",
        "_bounded",
        "_getters",
        "_items",
        "_lock",
        "_maxsize",
        "_peek",
        "_pop",
        "_push_front",
        "_putters",
        "_shut",
        "_take",
    )

    def __init__(self, maxsize: int | None = None, items: Iterable[_T] = ()) -> None:
        self._maxsize = _UNBOUNDED if maxsize is None or maxsize <= 0 else maxsize
        self._bounded = self._maxsize != _UNBOUNDED
        self._lock = allocate_lock()
        self._getters = WaitQueue()
        self._putters = WaitQueue()
        self._init_items(items)
        self._take: Callable[[], Any] = self._take_and_refill if self._bounded else self._pop
        self._shut = False

    def _init_items(self, items: Iterable[Any]) -> None:
        # Per-instance bound methods instead of overridable _put/_get methods: the hot paths
        # then make one C call, not a Python method call.
        q: deque[Any] = deque(items)
        self._items: Any = q
        self._append: Callable[[Any], None] = q.append
        self._pop: Callable[[], Any] = q.popleft
        self._push_front: Callable[[Any], None] = q.appendleft
        self._peek: Callable[[], Any] = partial(q.__getitem__, 0)

    # -- state ----------------------------------------------------------------------------------

    @property
    def maxsize(self) -> int | None:
        """The bound given to the constructor; None if unbounded."""
        return None if self._maxsize == _UNBOUNDED else self._maxsize

    def qsize(self) -> int:
        """Items in the queue now."""
        return len(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        # Always true, as gevent's queues: ``if queue:`` tests that there is a queue, not
        # that it has items (use ``empty()``), so an empty queue passed as an option is kept.
        return True

    def empty(self) -> bool:
        """True if ``get()`` would block now."""
        return not self._items

    def full(self) -> bool:
        """True if ``put()`` would block now."""
        return len(self._items) >= self._maxsize

    # -- putting --------------------------------------------------------------------------------

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        """Add ``item``, waiting for room if the queue is full.

        Raises :class:`queue.Full` if there is still no room after ``timeout`` seconds, or at
        once if ``block`` is false; :class:`~hub.queue.ShutDown` once the queue was shut down.
        """
        if self._shut:
            self._rejected()
            raise ShutDown
        if not self._bounded:
            # Lock-free (see "Fast paths" in the class comment): append, *then* look for
            # getters, so a getter registering meanwhile in another thread either is seen
            # here or sees the item when it re-checks after registering.
            self._append(item)
            if self._getters:
                lock = self._lock
                lock.acquire()
                try:
                    self._serve_getters()
                finally:
                    lock.release()
            return
        lock = self._lock
        lock.acquire()
        getters = self._getters
        if getters:
            # WaitQueue.claim_first's common case inlined (the first getter, of this thread,
            # unclaimed, not a peek; callgrind queue1: the call costs +3.7% per item).
            w = getters.popleft()
            h = w[2]
            if w[1] is PENDING and w[3] is None and h.thread_ident == get_ident():
                w[1] = item
                schedule = h.schedule  # (a local: see Hub.schedule)
                schedule(w)
                lock.release()
                return
            getters.appendleft(w)
            if getters.claim_first(item, _hand_back, self):
                lock.release()
                return
        if len(self._items) < self._maxsize:
            self._append(item)
            lock.release()
            return
        if not block or (timeout is not None and timeout <= 0):
            lock.release()
            if block:
                _check_timeout(timeout)  # type: ignore[arg-type]
            self._rejected()
            raise Full
        # Wait offering the item: a getter (or a get that makes room) takes it. An exception
        # before it was taken hands it back to _reject (it did not go in).
        putters = self._putters
        w = putters.enqueue(item)
        if len(self._items) < self._maxsize:
            # A lock-free get made room before it could see us: take a putter's item now
            # (perhaps ours; then our wake-up is already queued).
            self._refill()
        if putters.wait(w, lock, timeout, _reject, self) is TIMEOUT:
            self._rejected()
            raise Full

    def put_nowait(self, item: _T) -> None:
        """``put(item, block=False)``."""
        self.put(item, False)

    def _to_getter(self, item: Any) -> bool:
        # Lock held, getters waiting: hand ``item`` to the first getter that can take it;
        # peekers on the way see it too. False if no getter could take it.
        return self._getters.claim_first(item, _hand_back, self)

    def _serve_getters(self) -> None:
        # Lock held: give queued items to waiting getters, oldest item to oldest getter.
        getters = self._getters
        while getters:
            try:
                item = self._pop()
            except IndexError:  # a lock-free get took the last one
                return
            if not self._to_getter(item):
                self._push_front(item)
                return

    def _refill(self) -> None:
        # Lock held, putters waiting, room in the queue: move putters' items in.
        while len(self._items) < self._maxsize:
            item = self._putters.take_offer()
            if item is NOTHING:
                return
            if self._getters and self._to_getter(item):
                continue
            self._append(item)

    def _rejected(self) -> None:
        """Hook: a put failed, its item did not go in (JoinableQueue keeps count)."""

    # -- getting --------------------------------------------------------------------------------

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """Remove and return an item, waiting for one if the queue is empty.

        Raises :class:`queue.Empty` if there is still none after ``timeout`` seconds, or at once
        if ``block`` is false.
        """
        try:
            # Unbounded: deque.popleft itself, lock-free, one atomic C call. Bounded: the same
            # plus letting a waiting putter in (_take_and_refill).
            return self._take()
        except IndexError:
            return self._get_slow(block, timeout)

    def _take_and_refill(self) -> Any:
        item = self._pop()
        if self._putters:
            # Room was made: let the first waiting putter in. (A putter registering meanwhile
            # in another thread re-checks for room after registering.)
            lock = self._lock
            lock.acquire()
            try:
                self._refill()
            finally:
                lock.release()
        return item

    def _get_slow(self, block: bool, timeout: float | None) -> Any:
        lock = self._lock
        lock.acquire()
        try:
            item = self._pop()  # an item may have come meanwhile
        except IndexError:
            pass
        else:
            if self._putters:
                self._refill()
            lock.release()
            return item
        if self._putters:  # a Channel: take straight from a putter
            item = self._putters.take_offer()
            if item is not NOTHING:
                lock.release()
                return item
        if self._shut or not block or (timeout is not None and timeout <= 0):
            self._refuse_get(block, timeout)
        # WaitQueue.enqueue() and wait() inlined (callgrind, bench/callgrind_micro.py queue1: the
        # two calls cost +5% instructions per item); the abandon rule stays in the queue.
        g: Any = getcurrent()  # Any: may carry _hub (get_hub's fast path)
        try:
            h = g._hub
        except AttributeError:
            h = get_hub()
        getters = self._getters
        w = [g, PENDING, h, None]
        getters.append(w)
        if self._items:
            # A lock-free put appended before it could see us: serve the getters now
            # (perhaps us; then our wake-up is already queued).
            self._serve_getters()
        lock.release()
        try:
            value = h.suspend(w, timeout)
        except BaseException:
            # An item handed to a getter unwinding with an exception goes back (_hand_back).
            getters.unwind(lock, w, _hand_back, self)
            raise
        if value is TIMEOUT:
            getters.abandon(lock, w)
            raise Empty
        return value

    def _refuse_get(self, block: bool, timeout: float | None) -> NoReturn:
        """With the lock held and nothing to take, a get or peek that may not wait: raise
        ShutDown or Empty (ValueError for a negative timeout), releasing the lock."""
        self._lock.release()
        if self._shut:
            raise ShutDown
        if block:
            _check_timeout(timeout)  # type: ignore[arg-type]
        raise Empty

    def get_nowait(self) -> _T:
        """``get(block=False)``."""
        return self.get(False)

    def peek(self, block: bool = True, timeout: float | None = None) -> _T:
        """Return the next item without removing it, waiting like :meth:`get`."""
        lock = self._lock
        lock.acquire()
        if self._items:
            item = self._peek()
            lock.release()
            return item
        item = self._putters.first_offer()  # a Channel: the item the first putter offers
        if item is not NOTHING:
            lock.release()
            return item
        if self._shut or not block or (timeout is not None and timeout <= 0):
            self._refuse_get(block, timeout)
        getters = self._getters
        w = getters.enqueue(WATCH)  # sees the next item, takes nothing
        if self._items:
            self._serve_getters()  # as in get(): a lock-free put may have come first
        value = getters.wait(w, lock, timeout)
        if value is TIMEOUT:
            raise Empty
        return value

    # -- shutting down (Python 3.13's Queue.shutdown) --------------------------------------------

    @property
    def is_shutdown(self) -> bool:
        """True once :meth:`shutdown` was called."""
        return self._shut

    def shutdown(self, immediate: bool = False) -> None:
        """Refuse further items: ``put`` raises :class:`~hub.queue.ShutDown` from now on, and so
        do the puts blocked now. ``get`` returns what is left, then raises ShutDown instead of
        waiting.

        With ``immediate``, what is left is discarded first (a JoinableQueue counts each as done),
        so every blocked or later ``get`` raises ShutDown at once. Like ``queue.Queue.shutdown``.
        """
        lock = self._lock
        lock.acquire()
        try:
            self._shut = True
            drained = 0
            if immediate:
                drained = len(self._items)
                self._items.clear()
            elif self._items and self._getters:
                self._serve_getters()
            waiters = [*self._putters, *self._getters]
            self._putters.clear()
            self._getters.clear()
        finally:
            lock.release()
        ident = get_ident()
        for w in waiters:
            h = w[2]
            if h.thread_ident == ident:
                h.run_callback(_fail_waiter, w)
            elif not h.destroyed:
                h.run_threadsafe(_fail_waiter, w)
        if drained:
            self._discarded(drained)

    def _discarded(self, count: int) -> None:
        """Hook: ``shutdown(immediate=True)`` dropped ``count`` items (JoinableQueue counts)."""

    def peek_nowait(self) -> _T:
        """``peek(block=False)``."""
        return self.peek(False)

    # -- iteration ------------------------------------------------------------------------------

    def __iter__(self) -> Queue[_T]:
        return self

    def __next__(self) -> _T:
        item = self.get()
        if item is StopIteration:
            raise StopIteration
        return item

    def statistics(self) -> QueueStatistics:
        """Items and waiters now, for tests and debugging: a :class:`~hub.queue.QueueStatistics`."""
        return QueueStatistics(len(self._items), len(self._getters), len(self._putters))

    def __repr__(self) -> str:
        size = "" if self._maxsize == _UNBOUNDED else f" maxsize={self._maxsize}"
        return (
            f"<{type(self).__name__} at {id(self):#x}{size} qsize={len(self._items)} "
            f"getters={len(self._getters)} putters={len(self._putters)}>"
        )


def _reject(q: Queue[Any], _item: Any) -> None:
    # A blocked put ended by an exception before its item was taken: it did not go in.
    q._rejected()


def _hand_back(q: Queue[Any], item: Any) -> None:
    # ``item`` was handed to a getter that could not take it after all (killed, or timed out
    # in another thread while the item was on its way). It was the oldest item, so it goes back
    # to the front (or to the next getter); that may exceed maxsize by one, which is better
    # than losing it.
    lock = q._lock
    lock.acquire()
    try:
        q._push_front(item)
        q._serve_getters()
    finally:
        lock.release()


class LifoQueue(Queue[_T]):
    """A last-in, first-out queue (a stack), like ``queue.LifoQueue``."""

    __slots__ = ()

    def _init_items(self, items: Iterable[Any]) -> None:
        q: deque[Any] = deque(items)
        self._items = q
        self._append = q.append
        self._pop = q.pop
        # A handed-back item was the newest: back on top.
        self._push_front = q.append
        self._peek = partial(q.__getitem__, -1)


class PriorityQueue(Queue[_T]):
    """A queue that returns the smallest item first, like ``queue.PriorityQueue``.

    Items must be comparable; use ``(priority, counter, data)`` tuples for anything else.
    """

    __slots__ = ()

    def _init_items(self, items: Iterable[Any]) -> None:
        heap = list(items)
        heapify(heap)
        self._items = heap
        self._append = partial(heappush, heap)
        self._pop = partial(heappop, heap)
        self._push_front = self._append
        self._peek = partial(heap.__getitem__, 0)


class JoinableQueue(Queue[_T]):
    """A Queue that counts unfinished tasks: ``task_done()`` after each item, ``join()`` waits.

    Every successful ``put`` adds one unfinished task; ``task_done()`` removes one (ValueError
    if there is none); ``join(timeout=None)`` waits until none is left and returns True, or
    False if the timeout expired first.
    """

    __slots__ = ("_done", "_unfinished")

    def __init__(
        self,
        maxsize: int | None = None,
        items: Iterable[_T] = (),
        unfinished_tasks: int | None = None,
    ) -> None:
        super().__init__(maxsize, items)
        self._done = Event()
        self._unfinished = len(self._items) if unfinished_tasks is None else unfinished_tasks
        if self._unfinished <= 0:
            self._done.set()

    @property
    def unfinished_tasks(self) -> int:
        """Items put and not yet marked done."""
        return self._unfinished

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        """Like :meth:`Queue.put`; counts one more unfinished task when it succeeds."""
        # Counted before the item is visible: a getter may call task_done() before we resume.
        with self._lock:
            self._unfinished += 1
            self._done.clear()
        Queue.put(self, item, block, timeout)

    def _rejected(self) -> None:
        self._task_done()

    def _discarded(self, count: int) -> None:
        with self._lock:
            self._unfinished = max(self._unfinished - count, 0)
            done = not self._unfinished
        if done:
            self._done.set()

    def task_done(self) -> None:
        """Mark one item as processed. ValueError if called more times than items were put."""
        self._task_done()

    def _task_done(self) -> None:
        with self._lock:
            if self._unfinished <= 0:
                raise ValueError("task_done() called too many times")
            self._unfinished -= 1
            done = not self._unfinished
        if done:
            self._done.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every item put was marked done; False if ``timeout`` expired first."""
        return self._done.wait(timeout)


class SimpleQueue(Queue[_T]):
    """An unbounded FIFO queue with the API of ``queue.SimpleQueue``."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__()


class Channel(Queue[_T]):
    """A queue with no room at all: ``put`` waits until a getter takes the item.

    ``qsize()`` is always 0; ``empty()`` is true unless a putter waits, ``full()`` is true
    unless a getter waits.
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__()
        self._maxsize = 0
        self._bounded = True
        self._take = self._take_and_refill

    @property
    def maxsize(self) -> int | None:
        """Always 0."""
        return 0

    def empty(self) -> bool:
        """True unless a putter is waiting (``get()`` would block)."""
        return not self._putters.waiting()

    def full(self) -> bool:
        """True unless a getter is waiting (``put()`` would block)."""
        return not self._getters.waiting(watchers=False)
