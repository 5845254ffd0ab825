"""Semaphore, BoundedSemaphore, Lock, RLock and Condition for greenlets.

All of them wake waiters in FIFO order and hand a released permit straight to the first waiter,
so a greenlet that calls ``acquire()`` in a loop cannot starve the ones already waiting.
Each is policy on the core's WaitQueue (``hub._core._waitqueue``). Semaphores and locks may be
released from any OS thread; RLock and Condition belong to the greenlet that holds them.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from greenlet import getcurrent

from ._core import (
    PENDING,
    TIMEOUT,
    WaitQueue,
    WaitQueueStatistics,
    allocate_lock,
    get_hub,
    get_ident,
    register_at_fork,
)

__all__ = ["BoundedSemaphore", "Condition", "DummySemaphore", "Lock", "RLock", "Semaphore"]

_T = TypeVar("_T")
# threading.TIMEOUT_MAX: longer timeouts raise OverflowError, as the stdlib's locks do.
_TIMEOUT_MAX: float = _thread.TIMEOUT_MAX


class _ReleaseOnExit:
    """``with`` support for the locks: ``__exit__`` releases (each class sets
    ``__enter__ = acquire``)."""

    __slots__ = ()

    def release(self) -> None:
        raise NotImplementedError  # every subclass has its own

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class Semaphore(_ReleaseOnExit):
    """A counter of permits: ``acquire()`` takes one, waiting while there is none; ``release()``
    gives one back (to the longest waiter, if any).

    ``Semaphore(value=1)``; ``acquire(blocking=True, timeout=None)`` returns True when it got a
    permit, False if ``blocking`` is false or ``timeout`` expired first. Usable as a context
    manager. ``release()`` may be called from any OS thread.
    """

    __slots__ = ("__weakref__", "_bound", "_lock", "_value", "_waiters")

    _error: type[Exception] = ValueError
    _error_message = "Semaphore released too many times"

    def __init__(self, value: int = 1) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value
        self._waiters = WaitQueue()
        self._lock = allocate_lock()
        #: The most permits it may hold; None for a plain Semaphore.
        self._bound: int | None = None

    @property
    def counter(self) -> int:
        """Permits available now."""
        return self._value

    def locked(self) -> bool:
        """True if ``acquire()`` would block now."""
        return self._value <= 0

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit, waiting for one if needed; True if taken, False if not.

        ``timeout`` (seconds) bounds the wait; ``blocking=False`` never waits (and then
        ``timeout`` must be None, as in the stdlib).
        """
        if timeout is not None and not blocking:
            raise ValueError("can't specify timeout for non-blocking acquire")
        lock = self._lock
        lock.acquire()
        if self._value > 0:
            # Waiters exist only while the value is 0 (release hands permits to them), so
            # taking a permit here never jumps the queue.
            self._value -= 1
            lock.release()
            return True
        if not blocking or (timeout is not None and timeout <= 0):
            lock.release()
            return False
        # WaitQueue.park inlined (callgrind, bench/callgrind_micro.py semaphore: the call costs
        # +4% instructions per wake-up); the abandon rule stays in the queue.
        g: Any = getcurrent()  # Any: may carry _hub (get_hub's fast path)
        try:
            h = g._hub
        except AttributeError:
            h = get_hub()
        waiters = self._waiters
        w = [g, PENDING, h, None]
        waiters.append(w)
        lock.release()
        try:
            value = h.suspend(w, timeout)
        except BaseException:
            waiters.unwind(lock, w, _return_permit, self)
            raise
        if value is TIMEOUT:
            waiters.abandon(lock, w)
            return False
        return True

    def release(self) -> None:
        """Give a permit back: to the longest-waiting greenlet if any. Callable from any thread."""
        lock = self._lock
        lock.acquire()
        # A permit goes straight to the longest waiter; one of another thread that left
        # meanwhile hands it back (_return_permit, in its own thread).
        waiters = self._waiters
        if waiters:
            # WaitQueue.claim_first's common case inlined (the first waiter, of this thread,
            # unclaimed; callgrind semaphore: the call costs +4% per wake-up).
            w = waiters.popleft()
            h = w[2]
            if w[1] is PENDING and h.thread_ident == get_ident():
                w[1] = True
                schedule = h.schedule  # (a local: see Hub.schedule)
                schedule(w)
                lock.release()
                return
            waiters.appendleft(w)
            if waiters.claim_first(True, _return_permit, self):
                lock.release()
                return
        if self._bound is not None and self._value >= self._bound:
            lock.release()
            raise self._error(self._error_message)
        self._value += 1
        lock.release()

    def wait(self, timeout: float | None = None) -> int:
        """Wait until a permit is available, without taking it; return ``counter``."""
        if self._value <= 0 and self.acquire(True, timeout):
            self.release()
        return self._value

    def statistics(self) -> WaitQueueStatistics:
        """How many greenlets wait for a permit (for tests and debugging)."""
        return self._waiters.statistics()

    __enter__ = acquire

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} at {id(self):#x} counter={self._value} "
            f"waiters={len(self._waiters)}>"
        )


def _return_permit(sem: Semaphore, _value: Any) -> None:
    # A permit handed to a waiter that could not take it after all goes to the next one.
    sem.release()


class BoundedSemaphore(Semaphore):
    """A Semaphore that raises ValueError when released more often than acquired."""

    __slots__ = ()

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._bound = value


class Lock(Semaphore):
    """A mutual-exclusion lock for greenlets, like ``threading.Lock``.

    Any greenlet (or thread) may release it; releasing an unlocked Lock raises RuntimeError.
    ``acquire(blocking=True, timeout=-1)``: -1 (or None) waits forever.
    """

    # The state is a real OS lock (``_lock``), taken without blocking: held means locked. So the
    # uncontended acquire and release are one C call each, atomic against every OS thread, with
    # no mutex around a Python check-and-set (under patch_thread() every threading.Condition,
    # Event and queue.Queue operation takes such a lock several times: callgrind,
    # bench/callgrind_micro.py thread_queue1, 74,495 instructions per item with the mutex).
    #
    # Waiting needs the wait queue and its mutex (``_MUTEX``, one for every Lock: it is held for
    # a few bytecodes, never across a switch). The protocol that keeps a wake-up from being lost
    # between the lock-free fast paths and the queue:
    # - a waiter registers under the mutex, then tries the state once more before it suspends:
    #   a release that happened before the registration left the state free, and it takes it;
    # - a release frees the state, *then* looks at the queue; if someone waits it takes the
    #   state back under the mutex (unless a third party got it first, who will release it in
    #   turn) and hands it, still held, to the first waiter. A release that finds waiters
    #   before it frees the state hands over directly.
    # The held state passes from releaser to waiter without ever being free, so a greenlet
    # acquiring in a loop cannot overtake the waiters (FIFO, as Semaphore).

    __slots__ = ()

    _error = RuntimeError
    _error_message = "release unlocked lock"

    def __init__(self) -> None:
        # Not Semaphore.__init__: under patch_thread() every threading.Condition wait makes a
        # Lock, and the extra call was 8% of a queue.Queue(1) hand-over.
        self._lock = allocate_lock()
        self._waiters = WaitQueue()
        self._bound = 1

    @property
    def counter(self) -> int:
        """1 if unlocked, 0 if locked."""
        return 0 if self._lock.locked() else 1

    def locked(self) -> bool:
        """True if it is held."""
        return self._lock.locked()

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Take the lock; True if taken, False if ``blocking`` is false or ``timeout`` expired."""
        if timeout == -1:
            # Most of threading's and queue's lock traffic under patch_thread(): one C call.
            if self._lock.acquire(False):
                return True
            if not blocking:
                return False
            return self._wait(None)
        if timeout is not None:
            if not blocking:
                raise ValueError("can't specify a timeout for a non-blocking call")
            if timeout < 0:
                raise ValueError("timeout value must be a non-negative number")
            if timeout > _TIMEOUT_MAX:
                raise OverflowError("timeout value is too large")
        if self._lock.acquire(False):
            return True
        if not blocking or (timeout is not None and timeout <= 0):
            return False
        return self._wait(timeout)

    __enter__ = acquire

    def _wait(self, timeout: float | None) -> bool:
        # The state was held a moment ago: register, try once more, suspend (see the class
        # comment). WaitQueue.enqueue() and wait() inlined, with the retry in between
        # (callgrind, bench/callgrind_micro.py thread_lock: the two calls cost +6.7%
        # instructions per hand-over, 16,936 against 15,868); the abandon rule stays in the
        # queue.
        g: Any = getcurrent()  # Any: may carry _hub (get_hub's fast path)
        try:
            h = g._hub
        except AttributeError:
            h = get_hub()
        w = [g, PENDING, h, None]
        mutex = _MUTEX[0]
        waiters = self._waiters
        state = self._lock
        mutex.acquire()
        waiters.append(w)
        # (locked() first: cheaper than a failing acquire(False); a release after it sees w.)
        if not state.locked() and state.acquire(False):
            waiters.pop()  # ours, the last: the mutex was held since the append
            mutex.release()
            return True
        mutex.release()
        try:
            value = h.suspend(w, timeout)
        except BaseException:
            waiters.unwind(mutex, w, _return_lock, self)
            raise
        if value is TIMEOUT:
            waiters.abandon(mutex, w)
            return False
        return True  # handed over: the state is ours, held

    def release(self) -> None:
        """Release the lock: to the longest-waiting greenlet if any. Callable from any thread."""
        waiters = self._waiters
        if not waiters:
            self._lock.release()  # RuntimeError "release unlocked lock" if it is not held
            if waiters:
                self._take_back()  # a waiter registered meanwhile
            return
        mutex = _MUTEX[0]
        mutex.acquire()
        if not self._lock.locked():
            mutex.release()
            raise RuntimeError("release unlocked lock")
        if waiters:
            # WaitQueue.claim_first's common case inlined (the first waiter, of this thread,
            # unclaimed), as in Semaphore.release, where the call costs +4% per wake-up: it is
            # every hand-over of bench/micro.py's thread_lock.
            w = waiters[0]
            h = w[2]
            if w[1] is PENDING and h.thread_ident == get_ident():
                waiters.popleft()
                w[1] = True
                schedule = h.schedule  # (a local: see Hub.schedule)
                schedule(w)
                mutex.release()
                return
        self._give(mutex)

    def __exit__(self, *exc: Any) -> None:  # (any arguments, as the stdlib lock's)
        # release()'s common case spelled out: every ``with`` block of threading's and queue's
        # code ends here, mostly with nobody waiting (a Python call fewer per block).
        if self._waiters:
            self.release()
            return
        self._lock.release()
        if self._waiters:
            self._take_back()

    def _take_back(self) -> None:
        # The state was freed, then a waiter was seen: take it back for that waiter, unless a
        # third party got it first (whose release hands it on in turn).
        mutex = _MUTEX[0]
        mutex.acquire()
        if self._lock.acquire(False):
            self._give(mutex)
        else:
            mutex.release()

    def _give(self, mutex: Any) -> None:
        # Mutex and state held: the state to the first waiter still waiting, else free it.
        if self._waiters.claim_first(True, _return_lock, self):
            mutex.release()
            return
        self._lock.release()
        mutex.release()

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the lock is free, without taking it; return ``counter``."""
        if self._lock.locked() and self.acquire(True, -1 if timeout is None else timeout):
            self.release()
        return self.counter

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} at {id(self):#x} counter={self.counter} "
            f"waiters={len(self._waiters)}>"
        )

    def _at_fork_reinit(self) -> None:
        # After fork, in the child: unlocked, and nobody (no thread of the parent) waits. The
        # state lock is reinitialised in place: a threading.Condition keeps bound methods of it.
        self._lock._at_fork_reinit()  # type: ignore[attr-defined]
        self._waiters.clear()


def _return_lock(lock: Lock, _value: Any) -> None:
    # The lock was handed to a waiter that could not take it after all: release it (to the
    # next waiter, if any).
    lock.release()


# The wait-queue mutex of every Lock, in a list so the fork hook can replace it: a child forked
# while another thread held it would otherwise never get it.
_MUTEX = [allocate_lock()]


def _after_fork_in_child() -> None:
    _MUTEX[0] = allocate_lock()


if register_at_fork is not None:
    register_at_fork(after_in_child=_after_fork_in_child)


class RLock(_ReleaseOnExit):
    """A reentrant lock: the greenlet holding it may acquire it again; like ``threading.RLock``.

    Only the owner may release it (RuntimeError otherwise); it is free once released as many
    times as it was acquired.
    """

    __slots__ = ("__weakref__", "_block", "_count", "_owner")

    def __init__(self) -> None:
        self._block = Lock()
        self._owner: Any = None
        self._count = 0

    # The uncontended acquire and the end of a ``with`` block are one Python frame each
    # (Lock's fast paths spelled out here): a driver takes such a lock around every pool
    # operation (redis-py 8: an RLock three times per command). Callgrind, one ``with`` block
    # of an uncontended RLock: 6,787 instructions through RLock -> Lock -> the state lock,
    # 5,106 spelled out (the C RLock: 2,006; gevent's, under its patch_all(): about 8,200,
    # bench/callgrind_db.py rlock).
    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Take the lock (again, if the current greenlet holds it); see :meth:`Lock.acquire`."""
        me = getcurrent()
        if timeout == -1:
            if self._owner is me:
                self._count += 1
                return True
            if self._block._lock.acquire(False):
                self._owner = me
                self._count = 1
                return True
        return self._acquire_slow(me, blocking, timeout)

    def _acquire_slow(self, me: Any, blocking: bool, timeout: float | None) -> bool:
        # Held by another greenlet, or a timeout given: Lock.acquire decides (and validates).
        if self._owner is me:
            self._count += 1
            return True
        if not self._block.acquire(blocking, timeout):
            return False
        self._owner = me
        self._count = 1
        return True

    def release(self) -> None:
        """Release once; RuntimeError if the current greenlet does not hold it."""
        self.__exit__()

    def __exit__(self, *exc: Any) -> None:  # (any arguments, as the stdlib lock's)
        # release() itself, so that a ``with`` block's end is one frame, plus Lock's
        # (_ReleaseOnExit's would call release()).
        if self._owner is not getcurrent():
            raise RuntimeError("cannot release un-acquired lock")
        count = self._count = self._count - 1
        if not count:
            self._owner = None
            block = self._block
            if block._waiters:
                block.release()
                return
            # Lock.__exit__ spelled out (see Lock.release): nobody waits, the common case.
            block._lock.release()
            if block._waiters:
                block._take_back()

    def locked(self) -> bool:
        """True if some greenlet holds it."""
        return self._owner is not None

    __enter__ = acquire

    # The protocol threading.Condition (and ours) uses to wait with an RLock.
    def _is_owned(self) -> bool:
        return self._owner is getcurrent()

    def _release_save(self) -> tuple[int, Any]:
        if self._owner is not getcurrent():
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Any]) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} owner={self._owner!r} count={self._count}>"


class Condition:
    """A condition variable, like ``threading.Condition``, over a Lock or RLock (default RLock).

    ``wait()`` releases the lock, waits for ``notify()`` and takes the lock again; waiters are
    notified in FIFO order. Every method except the lock's own must be called with the lock held.
    """

    def __init__(self, lock: Any = None) -> None:
        if lock is None:
            lock = RLock()
        self._lock = lock
        self.acquire: Callable[..., bool] = lock.acquire
        self.release: Callable[[], None] = lock.release
        # The wait queue has a real OS lock of its own: notify() may come from a greenlet of
        # another thread that holds the (thread-safe) Lock, and a leaving waiter removes itself
        # before it has taken the lock back.
        self._waiters = WaitQueue()
        self._mutex = allocate_lock()
        for name in ("_is_owned", "_release_save", "_acquire_restore"):
            if hasattr(lock, name):
                setattr(self, name, getattr(lock, name))

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._lock.__exit__(*exc)

    def _is_owned(self) -> bool:
        # For a plain Lock: held (by someone) if it cannot be taken now.
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def _release_save(self) -> Any:
        self._lock.release()

    def _acquire_restore(self, _state: Any) -> None:
        self._lock.acquire()

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait for a notification or ``timeout``, take the lock again.

        True if notified, False if the timeout expired.
        """
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        # Registered before the lock is released (under the mutex, which no switch can happen
        # inside), so a notify() right after the release finds this waiter.
        mutex = self._mutex
        mutex.acquire()
        try:
            state = self._release_save()
        except BaseException:
            mutex.release()
            raise
        try:
            # A notification handed to a waiter unwinding with an exception is passed on.
            value = self._waiters.park(
                mutex, None if timeout is None else max(timeout, 0.0), None, _pass_on, self
            )
        finally:
            self._acquire_restore(state)
        return value is not TIMEOUT

    def wait_for(self, predicate: Callable[[], _T], timeout: float | None = None) -> _T:
        """Wait until ``predicate()`` is true (or ``timeout``); return its last result."""
        result = predicate()
        if result or timeout is None:
            while not result:
                self.wait()
                result = predicate()
            return result
        clock = get_hub().clock
        deadline = clock() + timeout
        while not result:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters (the longest-waiting first)."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        self._notify(n)

    def _notify(self, n: int) -> None:
        with self._mutex:
            waiters = self._waiters
            while n > 0 and waiters.claim_first(True, _pass_on, self):
                n -= 1

    def notify_all(self) -> None:
        """Wake every waiter."""
        self.notify(len(self._waiters))

    notifyAll = notify_all

    def statistics(self) -> WaitQueueStatistics:
        """How many greenlets wait for a notification (for tests and debugging)."""
        return self._waiters.statistics()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._lock!r} waiters={len(self._waiters)}>"


def _pass_on(cond: Condition, _value: Any) -> None:
    # A notification handed to a waiter that could not take it goes to the next one.
    with cond._mutex:
        cond._waiters.claim_first(True, _pass_on, cond)


class DummySemaphore:
    """A Semaphore that never blocks: for code that takes a semaphore when the resource it
    guards is unbounded (gevent's ``DummySemaphore``; ``Pool(size=None)`` is the same idea).

    ``acquire()`` returns True at once whatever its arguments, ``release()`` does nothing,
    ``wait()`` returns 1, ``locked()`` is False, links run soon in the hub.
    """

    __slots__ = ()

    def __init__(self, value: int | None = None) -> None:
        pass

    @property
    def counter(self) -> int:
        """Always 1: a permit is always available."""
        return 1

    def locked(self) -> bool:
        """Always False."""
        return False

    def ready(self) -> bool:
        """Always True."""
        return True

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Return True at once."""
        return True

    def release(self) -> None:
        """Do nothing."""

    def wait(self, timeout: float | None = None) -> int:
        """Return 1 at once."""
        return 1

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` in the hub soon: it is always ready."""
        get_hub().run_callback(callback, self)

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Nothing to remove: links run at once."""

    def __enter__(self) -> bool:
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x}>"
