"""Groups of greenlets: :class:`Group` (any number) and :class:`Pool` (at most ``size`` at once).

Both track the greenlets they spawned until they finish, join or kill them all, and offer the
``apply``/``map``/``imap`` family of ``multiprocessing.pool`` (with gevent's names). A Pool
makes ``spawn`` wait while it is full, which is how it bounds concurrency. Both belong to the
greenlets of one OS thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from queue import Full
from typing import Any, Generic, TypeVar

from greenlet import GreenletExit, getcurrent

from ._core import get_hub
from ._event import Event
from ._greenlet import Greenlet, iwait, joinall
from ._lock import Semaphore
from .queue import Queue

__all__ = ["Group", "IMap", "Pool", "PoolFull"]

_T = TypeVar("_T")
_END: Any = object()
# The argument types of apply*/kill, as gevent's Group spells them.
_Args = Iterable[Any] | None
_Kwds = dict[str, Any] | None
_Killer = BaseException | type[BaseException]


class PoolFull(Full):
    """``Pool.add(greenlet, blocking=False)`` found the pool full (a ``queue.Full``)."""


class Group:
    """A set of greenlets, tracked until they finish: ``Group()``, ``Group(greenlets)``.

    ``spawn`` starts a greenlet in the group; ``join`` waits for all of them, ``kill`` kills
    them all. A greenlet leaves the group when it finishes, however it finishes.
    """

    #: The class ``spawn`` creates; a Greenlet subclass.
    greenlet_class: type[Greenlet[Any]] = Greenlet

    def __init__(self, *args: Iterable[Greenlet[Any]]) -> None:
        if len(args) > 1:
            raise TypeError(f"Group() takes at most one iterable of greenlets, got {len(args)}")
        self.greenlets: set[Greenlet[Any]] = set()
        self._empty = Event()
        self._empty.set()
        for g in args[0] if args else ():
            self.add(g)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} greenlets={len(self.greenlets)}>"

    def __len__(self) -> int:
        return len(self.greenlets)

    def __contains__(self, item: object) -> bool:
        return item in self.greenlets

    def __iter__(self) -> Iterator[Greenlet[Any]]:
        return iter(list(self.greenlets))

    # -- membership -----------------------------------------------------------------------------

    def add(self, greenlet: Greenlet[Any]) -> None:
        """Track ``greenlet`` (started or not) until it finishes."""
        if greenlet in self.greenlets:
            return
        self.greenlets.add(greenlet)
        self._empty.clear()
        greenlet.rawlink(self._on_finish)

    def _on_finish(self, greenlet: Greenlet[Any]) -> None:
        # In the hub, when a member finishes.
        self._remove(greenlet)

    def _remove(self, greenlet: Greenlet[Any]) -> bool:
        if greenlet not in self.greenlets:
            return False
        self.greenlets.discard(greenlet)
        if not self.greenlets:
            self._empty.set()
        return True

    def discard(self, greenlet: Greenlet[Any]) -> None:
        """Stop tracking ``greenlet`` (it goes on running)."""
        if self._remove(greenlet):
            greenlet.unlink(self._on_finish)

    def start(self, greenlet: Greenlet[Any]) -> None:
        """Add ``greenlet`` and start it."""
        self.add(greenlet)
        greenlet.start()

    def spawn(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> Greenlet[_T]:
        """Run ``function(*args, **kwargs)`` in a new greenlet of the group; return it."""
        g = self.greenlet_class(function, *args, **kwargs)
        self.start(g)
        return g

    # -- capacity (unbounded for a Group) ----------------------------------------------------

    def full(self) -> bool:
        """True if ``spawn`` would wait now (never, for a Group)."""
        return False

    def free_count(self) -> int:
        """How many more greenlets may start without waiting (``sys.maxsize`` for a Group)."""
        return sys.maxsize

    def wait_available(self, timeout: float | None = None) -> int:
        """Wait until a greenlet may start without waiting; return :meth:`free_count`."""
        return self.free_count()

    # -- waiting and killing --------------------------------------------------------------------

    def join(self, timeout: float | None = None, raise_error: bool = False) -> bool:
        """Wait until every greenlet of the group finished; False if ``timeout`` expired first.

        With ``raise_error``, raise the exception of the first greenlet that fails meanwhile.
        """
        if not raise_error:
            return self._empty.wait(timeout)
        for g in list(self.greenlets):
            if g.ready() and not g.successful():
                raise g.exception  # type: ignore[misc]
        clock = get_hub().clock
        deadline = None if timeout is None else clock() + timeout
        while self.greenlets:
            remaining = None if deadline is None else max(deadline - clock(), 0.0)
            done = list(iwait(list(self.greenlets), remaining, count=1))
            if not done:
                return False
            g = done[0]
            if not g.successful():
                raise g.exception  # type: ignore[misc]
        return True

    def kill(
        self, exception: _Killer = GreenletExit, block: bool = True, timeout: float | None = None
    ) -> None:
        """Kill every greenlet of the group; with ``block``, wait (up to ``timeout``) for them.

        Called from a member, it kills the others (and waits for them), not itself.
        """
        current = getcurrent()
        clock = get_hub().clock
        deadline = None if timeout is None else clock() + timeout
        while True:
            # Again and again: a dying greenlet may have added new ones.
            # (Dead ones may still be listed until their link runs in the hub.)
            victims = [g for g in self.greenlets if g is not current and not g.dead]
            if not victims:
                return
            for g in victims:
                g.kill(exception, block=False)
            if not block:
                return
            remaining = None if deadline is None else max(deadline - clock(), 0.0)
            done = joinall(victims, remaining)
            for g in done:
                self._remove(g)  # now, not when its link runs: kill() returns with them gone
            if len(done) < len(victims):
                return

    def killone(
        self,
        greenlet: Greenlet[Any],
        exception: BaseException | type[BaseException] = GreenletExit,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Kill one greenlet of the group (a no-op if it is not a member)."""
        if greenlet in self.greenlets:
            greenlet.kill(exception, block=block, timeout=timeout)

    # -- running functions ----------------------------------------------------------------------

    def apply(
        self,
        func: Callable[..., _T],
        args: _Args = None,
        kwds: _Kwds = None,
    ) -> _T:
        """Run ``func(*args, **kwds)`` in the group and return its result (or raise its error).

        Called from a greenlet of the group, it runs ``func`` directly: waiting for a free slot
        that the caller itself holds would never end.
        """
        args = () if args is None else tuple(args)
        kwds = {} if kwds is None else kwds
        if getcurrent() in self.greenlets:
            return func(*args, **kwds)
        return self.spawn(func, *args, **kwds).get()

    def apply_async(
        self,
        func: Callable[..., _T],
        args: _Args = None,
        kwds: _Kwds = None,
        callback: Callable[[_T], Any] | None = None,
    ) -> Greenlet[_T]:
        """Start ``func(*args, **kwds)`` in the group; return its Greenlet (``.get()`` waits).

        ``callback(result)`` runs in its own greenlet if ``func`` succeeds. Called from a member
        of a full pool, the greenlet starts outside the pool rather than deadlock.
        """
        args = () if args is None else tuple(args)
        kwds = {} if kwds is None else kwds
        if self.full() and getcurrent() in self.greenlets:
            g: Greenlet[_T] = self.greenlet_class(func, *args, **kwds)
            g.start()
        else:
            g = self.spawn(func, *args, **kwds)
        if callback is not None:
            g.link_value(lambda source: callback(source.get()))
        return g

    def apply_cb(
        self,
        func: Callable[..., _T],
        args: _Args = None,
        kwds: _Kwds = None,
        callback: Callable[[_T], Any] | None = None,
    ) -> _T:
        """:meth:`apply`, then ``callback(result)`` if a callback is given; returns the result."""
        result = self.apply(func, args, kwds)
        if callback is not None:
            callback(result)
        return result

    def map(self, func: Callable[..., _T], iterable: Iterable[Any]) -> list[_T]:
        """``[func(x) for x in iterable]``, run concurrently in the group; results in order.

        Raises the first failure in input order; the calls still running are then killed.
        """
        with self.imap(func, iterable) as results:
            return list(results)

    def map_cb(
        self,
        func: Callable[..., _T],
        iterable: Iterable[Any],
        callback: Callable[[list[_T]], Any] | None = None,
    ) -> list[_T]:
        """:meth:`map`, then ``callback(results)`` if a callback is given; returns the results."""
        results = self.map(func, iterable)
        if callback is not None:
            callback(results)
        return results

    def map_async(
        self,
        func: Callable[..., _T],
        iterable: Iterable[Any],
        callback: Callable[[list[_T]], Any] | None = None,
    ) -> Greenlet[list[_T]]:
        """Run :meth:`map` in a new greenlet (outside the group) and return that greenlet."""
        g: Greenlet[list[_T]] = Greenlet(self.map, func, iterable)
        if callback is not None:
            g.link_value(lambda source: callback(source.get()))
        g.start()
        return g

    def imap(
        self, func: Callable[..., _T], *iterables: Iterable[Any], maxsize: int | None = None
    ) -> IMap[_T]:
        """An iterator of ``func(*args)`` for ``args`` in ``zip(*iterables)``, in input order.

        Calls run concurrently in the group as the input is read (a Pool bounds how many);
        results stream out as soon as every earlier one is out. A call that raised raises
        from ``next()`` at its position. ``maxsize`` bounds the results computed but not yet
        consumed. ``close()`` it (or use it in a ``with`` block) to stop early.
        """
        return IMap(self, func, iterables, True, maxsize)

    def imap_unordered(
        self, func: Callable[..., _T], *iterables: Iterable[Any], maxsize: int | None = None
    ) -> IMap[_T]:
        """Like :meth:`imap`, but yields each result as soon as it is ready."""
        return IMap(self, func, iterables, False, maxsize)


class Pool(Group):
    """A Group of at most ``size`` greenlets at once: ``spawn`` waits while it is full.

    ``Pool(size=None)`` is unbounded (a Group). ``free_count()`` tells how many more may start,
    ``wait_available()`` waits for one.
    """

    def __init__(
        self,
        size: int | None = None,
        greenlet_class: type[Greenlet[Any]] | None = None,
    ) -> None:
        if size is not None and size < 1:
            raise ValueError(f"Pool size must be at least 1 (or None for unbounded), not {size}")
        self.size = size
        self._slots = None if size is None else Semaphore(size)
        if greenlet_class is not None:
            self.greenlet_class = greenlet_class
        super().__init__()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} at {id(self):#x} size={self.size} "
            f"greenlets={len(self.greenlets)}>"
        )

    def add(
        self, greenlet: Greenlet[Any], blocking: bool = True, timeout: float | None = None
    ) -> None:
        """Track ``greenlet``, waiting for a free slot; :class:`~hub.pool.PoolFull` if none came
        in time."""
        if greenlet in self.greenlets:
            return
        slots = self._slots
        if slots is not None and not slots.acquire(blocking, timeout if blocking else None):
            raise PoolFull
        try:
            Group.add(self, greenlet)
        except BaseException:
            if slots is not None:
                slots.release()
            raise

    def _remove(self, greenlet: Greenlet[Any]) -> bool:
        if not Group._remove(self, greenlet):
            return False
        if self._slots is not None:
            self._slots.release()
        return True

    def spawn(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> Greenlet[_T]:
        """Wait for a free slot, then run ``function(*args, **kwargs)`` in a new greenlet."""
        g = self.greenlet_class(function, *args, **kwargs)
        self.add(g)
        g.start()
        return g

    def full(self) -> bool:
        """True if ``spawn`` would wait now."""
        return self.free_count() <= 0

    def free_count(self) -> int:
        """How many more greenlets may start without waiting."""
        if self._slots is None:
            return sys.maxsize
        return self._slots.counter

    def wait_available(self, timeout: float | None = None) -> int:
        """Wait until a slot is free (or ``timeout``); return :meth:`free_count`."""
        if self._slots is not None:
            self._slots.wait(timeout)
        return self.free_count()


class IMap(Generic[_T]):
    """The iterator returned by ``imap`` and ``imap_unordered``.

    A feeder greenlet reads the input and spawns one call per item into the group (waiting
    while a Pool is full, or while ``maxsize`` results are waiting to be consumed); each call
    puts its outcome on a queue; ``__next__`` takes outcomes off it, in input order for
    ``imap``.
    """

    def __init__(
        self,
        group: Group,
        func: Callable[..., _T],
        iterables: tuple[Iterable[Any], ...],
        ordered: bool,
        maxsize: int | None,
    ) -> None:
        if not iterables:
            raise TypeError("imap() needs at least one iterable")
        if maxsize is not None and maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        self._group = group
        self._func = func
        self._ordered = ordered
        # (index, ok, value), or (_END, how many, the error that ended the input).
        self._results: Queue[tuple[Any, Any, Any]] = Queue()
        self._slots = None if maxsize is None else Semaphore(maxsize)
        self._buffer: dict[int, tuple[bool, Any]] = {}
        self._yielded = 0
        self._total: int | None = None
        self._feed_error: BaseException | None = None
        self._tasks: set[Greenlet[Any]] = set()
        self._closed = False
        self._feeder = Greenlet.spawn(self._feed, iterables)

    def _feed(self, iterables: tuple[Iterable[Any], ...]) -> None:
        count = 0
        error = None
        try:
            for args in zip(*iterables):  # noqa: B905 (shortest input ends it, like map())
                if self._slots is not None:
                    self._slots.acquire()
                g = self._group.spawn(self._run, count, args)
                self._tasks.add(g)
                count += 1
        except GreenletExit:
            raise
        except BaseException as exc:
            error = exc  # the input itself failed: raised after the results before it
        finally:
            self._results.put((_END, count, error))

    def _run(self, index: int, args: tuple[Any, ...]) -> None:
        try:
            value = self._func(*args)
        except BaseException as exc:
            self._results.put((index, False, exc))
            if not isinstance(exc, Exception):
                raise  # killed: die as asked
        else:
            self._results.put((index, True, value))
        finally:
            self._tasks.discard(getcurrent())

    def __iter__(self) -> IMap[_T]:
        return self

    def __next__(self) -> _T:
        while not self._closed:
            if self._ordered:
                outcome = self._buffer.pop(self._yielded, None)
                if outcome is not None:
                    return self._emit(*outcome)
            if self._total is not None and self._yielded >= self._total:
                self._closed = True
                if self._feed_error is not None:
                    error, self._feed_error = self._feed_error, None
                    raise error
                break
            index, ok, value = self._results.get()
            if index is _END:
                self._total = ok
                self._feed_error = value
            elif self._ordered:
                self._buffer[index] = (ok, value)
            else:
                return self._emit(ok, value)
        raise StopIteration

    def _emit(self, ok: bool, value: Any) -> Any:
        self._yielded += 1
        if self._slots is not None:
            self._slots.release()
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stop: kill the feeder and the calls still running; ``next()`` then stops."""
        self._closed = True
        self._feeder.kill()
        for g in list(self._tasks):
            g.kill(block=False)
        for g in list(self._tasks):
            g.join()

    def __enter__(self) -> IMap[_T]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
