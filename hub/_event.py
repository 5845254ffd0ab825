"""Event and AsyncResult: a flag (and a value) that greenlets wait for, settable from any thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from greenlet import getcurrent

from ._core import (
    PENDING,
    TIMEOUT,
    WaitQueue,
    WaitQueueStatistics,
    allocate_lock,
    get_hub,
    get_ident,
)
from ._timeout import Timeout

__all__ = ["AsyncResult", "Event"]

_T = TypeVar("_T")
_NOT_SET: Any = object()


def _call_link(hub: Any, callback: Callable[[Any], Any], source: Any) -> None:
    try:
        callback(source)
    except BaseException as exc:
        hub.handle_error(callback, exc)


class _Flag:
    """The machinery of Event and AsyncResult: a flag, a wait queue and one-shot links.

    ``set`` may be called from any thread (the wait queue wakes waiters of other threads through
    their own hubs); waiting works in every thread that has (or gets) a hub.
    """

    __slots__ = ("__weakref__", "_flag", "_links", "_lock", "_waiters")

    def __init__(self) -> None:
        self._flag = False
        self._waiters = WaitQueue()
        self._links: list[tuple[Callable[[Any], Any], Any]] | None = None
        self._lock = allocate_lock()

    def is_set(self) -> bool:
        """True once set (and, for an Event, not cleared since)."""
        return self._flag

    def _notify(self) -> None:
        # Called with the lock held and the flag set; releases the lock. The links are queued
        # before the waiters are woken, so a link registered before a wait has run by the time
        # that wait returns (gevent's order). Nothing is handed over: no hand-back.
        links = self._links
        if links:
            self._links = None
            ident = get_ident()
            for callback, h in links:
                if h.thread_ident == ident:
                    h.run_callback(_call_link, h, callback, self)
                elif not h.destroyed:
                    h.run_threadsafe(_call_link, h, callback, self)
        if self._waiters:
            self._waiters.claim_all(True)
        self._lock.release()

    def _wait(self, timeout: float | None) -> bool:
        # Wait until set: True, or False on timeout. Caller checked the flag without the lock.
        lock = self._lock
        lock.acquire()
        if self._flag:
            lock.release()
            return True
        # WaitQueue.park inlined (callgrind, bench/callgrind_micro.py event: the call costs +4%
        # instructions per wake-up); the abandon rule stays in the queue.
        g: Any = getcurrent()  # Any: may carry _hub (get_hub's fast path)
        try:
            h = g._hub
        except AttributeError:
            h = get_hub()
        w = [g, PENDING, h, None]
        # No local for the queue, read again only to leave: callgrind event 11,044 -> 11,007.
        self._waiters.append(w)
        lock.release()
        try:
            value = h.suspend(w, timeout)
        except BaseException:
            self._waiters.unwind(lock, w, None, None)
            raise
        if value is TIMEOUT:
            self._waiters.abandon(lock, w)
            return self._flag
        return True

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` in the hub once it is set (soon, if it is). Must not block.

        The callback runs once, in the hub of the thread that registered it; ``iwait()`` and
        ``wait()`` use this.
        """
        if not callable(callback):
            raise TypeError(f"expected a callable, not {callback!r}")
        h = get_hub()
        with self._lock:
            if not self._flag:
                if self._links is None:
                    self._links = [(callback, h)]
                else:
                    self._links.append((callback, h))
                return
        h.run_callback(_call_link, h, callback, self)

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Remove every link to ``callback`` that has not run yet."""
        with self._lock:
            if self._links:
                self._links = [x for x in self._links if x[0] != callback] or None

    def statistics(self) -> WaitQueueStatistics:
        """How many greenlets wait for it (for tests and debugging)."""
        return self._waiters.statistics()


class Event(_Flag):
    """A flag that greenlets can wait for: ``set()`` wakes every waiter, ``clear()`` resets it.

    Like ``threading.Event``; waiters wake in the order they started waiting. ``set()`` may be
    called from any OS thread: greenlets waiting in other threads are woken through their own
    hubs.
    """

    __slots__ = ()

    def set(self) -> None:
        """Set the flag and wake every waiter (and run the links)."""
        self._lock.acquire()
        self._flag = True
        self._notify()

    def clear(self) -> None:
        """Reset the flag; later ``wait()`` calls block again."""
        self._flag = False

    isSet = _Flag.is_set
    ready = _Flag.is_set

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or ``timeout`` seconds passed; return the flag.

        Like ``threading.Event.wait``: True if it is set on return, False if the wait timed out
        with the flag still clear.
        """
        if self._flag:
            return True
        return self._wait(timeout)

    def __repr__(self) -> str:
        state = "set" if self._flag else "clear"
        return f"<{type(self).__name__} at {id(self):#x} {state} waiters={len(self._waiters)}>"


class AsyncResult(_Flag, Generic[_T]):
    """A value (or an exception) that will be available later: a one-shot future.

    ``set(value)`` or ``set_exception(exc)`` makes it ready and wakes every waiter; ``get()``
    waits for it and returns the value or raises the exception. ``set`` and ``set_exception``
    may be called from any OS thread. An AsyncResult is also a link callback:
    ``greenlet.link(result)`` makes the greenlet's outcome its outcome.
    """

    __slots__ = ("_exception", "_value")

    def __init__(self) -> None:
        super().__init__()
        self._value: Any = None
        self._exception: Any = _NOT_SET

    def set(self, value: _T | None = None) -> None:
        """Store ``value`` and wake every waiter."""
        self._lock.acquire()
        self._value = value
        self._exception = None
        self._flag = True
        self._notify()

    def set_exception(self, exception: BaseException, exc_info: Any = None) -> None:
        """Store ``exception`` (raised by ``get()``) and wake every waiter.

        ``exc_info``, a ``sys.exc_info()`` triple, is accepted for gevent compatibility; its
        traceback is attached to the exception.
        """
        if isinstance(exception, type):
            exception = exception()
        if exc_info is not None and exc_info[2] is not None:
            exception = exception.with_traceback(exc_info[2])
        self._lock.acquire()
        self._value = None
        self._exception = exception
        self._flag = True
        self._notify()

    def ready(self) -> bool:
        """True once ``set`` or ``set_exception`` was called."""
        return self._flag

    def successful(self) -> bool:
        """True if it is ready with a value, not an exception."""
        return self._flag and self._exception is None

    @property
    def value(self) -> _T | None:
        """The value, or None (not ready yet, or failed)."""
        return self._value

    @property
    def exception(self) -> BaseException | None:
        """The exception it was set with, or None."""
        exc = self._exception
        return None if exc is _NOT_SET else exc

    @property
    def exc_info(self) -> tuple[Any, ...]:
        """``(type, exception, traceback)`` if it failed, else ``()``."""
        exc = self.exception
        if exc is None:
            return ()
        return (type(exc), exc, exc.__traceback__)

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """The value, waiting for it; raises the stored exception if it failed.

        Raises :class:`Timeout` if it is not ready after ``timeout`` seconds (at once if
        ``block`` is false), as gevent's does.
        """
        if not self._flag:
            if not block:
                raise Timeout()
            if not self._wait(timeout):
                raise Timeout(timeout)
        exc = self._exception
        if exc is not None:
            raise exc
        return self._value

    def get_nowait(self) -> _T:
        """``get(block=False)``."""
        return self.get(block=False)

    def wait(self, timeout: float | None = None) -> _T | None:
        """Block until ready or ``timeout`` seconds passed; return ``value`` (never raises)."""
        if not self._flag:
            self._wait(timeout)
        return self._value

    # -- the concurrent.futures.Future names gevent's AsyncResult answers to -----------------
    # ``exception`` stays a property (as in gevent), not Future's method.

    def set_result(self, value: _T) -> None:
        """``set(value)``, under concurrent.futures' name."""
        self.set(value)

    def done(self) -> bool:
        """``ready()``: True once it has a value or an exception."""
        return self._flag

    def result(self, timeout: float | None = None) -> _T:
        """``get(timeout=timeout)``: the value, waiting for it; raises its exception.

        Raises :class:`hub.Timeout` (not ``TimeoutError``) when not ready in time, as gevent's.
        """
        return self.get(timeout=timeout)

    def cancel(self) -> bool:
        """An AsyncResult cannot be cancelled: always False."""
        return False

    def cancelled(self) -> bool:
        """Always False (see :meth:`cancel`)."""
        return False

    def __call__(self, source: Any) -> None:
        """Take the outcome of ``source`` (a finished Greenlet): use as a link callback."""
        if source.successful():
            self.set(source.value)
        else:
            self.set_exception(source.exception)

    def __repr__(self) -> str:
        if not self._flag:
            state = "unset"
        elif self._exception is None:
            state = f"value={self._value!r}"
        else:
            state = f"exception={self._exception!r}"
        return f"<{type(self).__name__} at {id(self):#x} {state} waiters={len(self._waiters)}>"
