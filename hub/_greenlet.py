"""Greenlets scheduled by the hub: Greenlet, spawn, sleep, join/kill helpers, wait and iwait."""

from __future__ import annotations

import itertools
import reprlib
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from greenlet import GreenletExit, getcurrent, greenlet

from ._core import (
    PENDING,
    TIMEOUT,
    BlockingSwitchOutError,
    SelfEntry,
    Throw,
    Timer,
    WaitQueue,
    get_hub,
)
from ._timeout import Timeout

__all__ = [
    "Greenlet",
    "GreenletExit",
    "getcurrent",
    "idle",
    "iwait",
    "joinall",
    "killall",
    "sleep",
    "spawn",
    "spawn_later",
    "wait",
]

_T = TypeVar("_T")
_S = TypeVar("_S")
_G = TypeVar("_G", bound="Greenlet[Any]")

if TYPE_CHECKING:

    class _Linkable(Protocol):
        def rawlink(self, callback: Callable[[Any], Any], /) -> Any: ...
        def unlink(self, callback: Callable[[Any], Any], /) -> Any: ...


#: What iwait() and wait() accept: anything with rawlink/unlink (Greenlet, Event, AsyncResult...).
_L = TypeVar("_L", bound="_Linkable")
_NOT_DONE: Any = object()


class _LinksRunning:
    """``Greenlet._links`` from the moment a finished greenlet's links are queued to the hub
    until they have run: ``join()`` (and ``get()``, ``joinall``) keep waiting through that
    window, so that when they return every callback linked before has run (gevent's order).
    False, as no links are: ``has_links()`` and ``statistics()`` count none."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False


_LINKS_RUNNING: Any = _LinksRunning()
_NO_KWARGS: Any = MappingProxyType({})
_names = itertools.count()
_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40

#: Called with every new Greenlet while ``hub.util.track_spawning(True)`` is in force, to record
#: where it was spawned; None (the default) costs one global read per Greenlet.
spawn_hook: Callable[[Any], None] | None = None


def sleep(seconds: float = 0, ref: bool = True) -> None:
    """Suspend the current greenlet for ``seconds``; ``sleep(0)`` just lets the others run.

    ``ref=False`` makes the sleep not count as work for ``hub.wait()`` with no arguments.
    """
    cur: Any = getcurrent()  # Any: may carry _hub (get_hub's fast path)
    try:
        hub = cur._hub
    except AttributeError:
        hub = get_hub()
    if cur is hub:
        raise BlockingSwitchOutError("cannot sleep in the hub (a callback or raw link called it)")
    if seconds <= 0:
        # Hub.suspend's steps spelled out: the hottest wait there is (callgrind,
        # bench/callgrind_micro.py sleep0, 2026-12-01: through hub.suspend() it costs +12.6%
        # instructions per switch, 8,325 against 7,395).
        w = [cur, None]
        schedule = hub.schedule  # (a local: see Hub.schedule)
        schedule(w)
        try:
            hub.switch()
        finally:
            w[0] = None
    else:
        hub.suspend([cur, PENDING], seconds, ref)


def _nothing(*args: Any, **kwargs: Any) -> None:
    """What a Greenlet created without a function does."""


def idle() -> None:
    """Suspend until the hub has nothing else to run (no ready greenlet, no due IO or timer)."""
    get_hub().idle_wait()


class Greenlet(greenlet, SelfEntry, Generic[_T]):
    """A greenlet run by the hub: ``Greenlet(fn, *args, **kwargs).start()``, or :func:`spawn`.

    When ``fn`` returns, ``value`` holds the result; if it raises, ``exception`` holds the error,
    which is also printed once with the greenlet's name (nobody may ever look at it otherwise).
    Killing it with the default GreenletExit counts as success, with that exception as ``value``.
    Subclasses may override ``_run`` instead of passing ``fn``.
    """

    # Every attribute a greenlet sets is a slot. greenlet allocates an instance dict for each
    # greenlet anyway, but an empty dict is not tracked by the cyclic GC; a function stored in it
    # (the ``run`` argument, as ``_run``) would make the garbage collector traverse one more
    # object per greenlet for as long as it lives. ``value`` is a slot for the same reason.
    # ``greenlet`` is the first base: greenlet's C code checks the type of a greenlet it is
    # handed (dozens of times per spawn+join, on every switch too) by walking the MRO up to
    # ``greenlet``, one step shorter this way.
    __slots__ = (
        "_exception",
        "_fn",
        "_hub",
        "_joiners",
        "_links",
        "_spawner",
        "_start",
        "_tree_locals",
        "args",
        "kwargs",
        "value",
    )
    _fn: Callable[..., _T] | None  # the ``run`` argument; None: a subclass's ``_run``
    _tree_locals: dict[str, Any]  # unset until a spawn tree is inherited or asked for

    _name: str | None = None

    def __init__(self, run: Callable[..., _T] | None = None, *args: Any, **kwargs: Any) -> None:
        spawner: Any = getcurrent()  # Any: may carry _hub (get_hub's fast path)
        try:
            hub = spawner._hub
        except AttributeError:
            hub = get_hub()
        # The spawning greenlet, held until this one finishes (then dropped, so that finished
        # greenlets never keep chains of their ancestors alive). A weakref instead cost about
        # 1,000 instructions per spawn+join (callgrind, 2026-12-01: 25.6k -> 26.6k). The spawn
        # tree's dict is inherited now if the spawner has one, else found when first asked for.
        self._spawner: greenlet | None = spawner
        # Only a Greenlet (or a subclass) can have a tree to pass on at this point: a raw
        # greenlet, the thread's main one above all, is ruled out by its exact type, cheaply (a
        # failed attribute lookup costs ~400 instructions). Without a tree the slot stays unset
        # (read with a default): one store less per spawn, one slot less for the GC to visit.
        if type(spawner) is not greenlet:
            tree = getattr(spawner, "_tree_locals", None)
            if tree is not None:
                self._tree_locals = tree
        # What greenlet.__init__(self, None, hub) does, without its argument parsing.
        self.parent = hub
        if run is not None:
            self._fn = run
        elif not hasattr(self, "_fn"):  # (a subclass may have set _run before calling us)
            self._fn = None
        self._hub = hub
        self.args = args
        # An empty dict kept per greenlet counts towards the next garbage collection.
        self.kwargs = kwargs or _NO_KWARGS
        self.value: _T | None = None
        self._exception: Any = _NOT_DONE
        self._links: list[Any] | None = None
        # The greenlets in join(): a WaitQueue, made by the first.
        self._joiners: WaitQueue | None = None
        # None, True once start() queued it (see __getitem__), or the Timer of start_later().
        self._start: Any = None
        if spawn_hook is not None:
            spawn_hook(self)

    @property
    def _run(self) -> Callable[..., Any]:
        """What the greenlet calls: the ``run`` argument, or nothing. Subclasses may override it
        with a method."""
        fn = self._fn
        return _nothing if fn is None else fn

    @_run.setter
    def _run(self, fn: Callable[..., Any]) -> None:
        self._fn = fn

    # -- identity -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """A name for messages; ``Greenlet-N`` unless set."""
        if self._name is None:
            self._name = f"Greenlet-{next(_names)}"
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)

    def __repr__(self) -> str:
        fn = self._run
        fname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
        args = ", ".join(
            [_repr.repr(a) for a in self.args]
            + [f"{k}={_repr.repr(v)}" for k, v in self.kwargs.items()]
        )
        if self._exception is not _NOT_DONE:
            state = (
                "dead" if self._exception is None else f"failed: {type(self._exception).__name__}"
            )
        elif greenlet.__bool__(self):
            state = "running"
        elif self._start is not None:
            state = "scheduled"
        else:
            state = "not started"
        return f'<{type(self).__name__} "{self.name}" at {id(self):#x}: {fname}({args}) {state}>'

    # -- state ----------------------------------------------------------------------------------

    def ready(self) -> bool:
        """True once it finished, failed or was killed."""
        return self._exception is not _NOT_DONE

    def successful(self) -> bool:
        """True if it finished without an exception (GreenletExit counts as success)."""
        return self._exception is None

    @property
    def dead(self) -> bool:
        """True once it finished, or was killed before it started."""
        return self._exception is not _NOT_DONE or greenlet.dead.__get__(self)

    @property
    def exception(self) -> BaseException | None:
        """The exception it failed with, or None (still running, or successful)."""
        exc = self._exception
        return None if exc is _NOT_DONE else exc

    @property
    def started(self) -> bool:
        """True once ``start()`` was called, unless it was killed before it ran."""
        return self._start is not None or self.gr_frame is not None or greenlet.dead.__get__(self)

    def __bool__(self) -> bool:
        """True while scheduled or running (not yet finished)."""
        return self._exception is _NOT_DONE and (self._start is not None or greenlet.__bool__(self))

    @property
    def exc_info(self) -> tuple[type[BaseException], BaseException, TracebackType | None] | None:
        """``(type, exception, traceback)`` if it failed, else None (gevent's "a false value")."""
        exc = self._exception
        if exc is _NOT_DONE or exc is None:
            return None
        return (type(exc), exc, exc.__traceback__)

    @property
    def spawning_greenlet(self) -> Callable[[], greenlet | None]:
        """Like gevent's, a weak reference to the greenlet that created this one: call it to get
        that greenlet, None once it is gone. (``parent`` is always the hub.) Known while this
        greenlet has not finished: a finished one answers None.
        """
        spawner = self._spawner
        return _dead_ref if spawner is None else _wref(spawner)

    @property
    def spawn_tree_locals(self) -> dict[str, Any]:
        """A dict shared by a greenlet, the greenlets it spawned, theirs, and so on.

        Children of the thread's main greenlet each start a tree of their own; assigning a new
        dict starts a new tree at this greenlet (for the children it spawns from then on). A
        greenlet takes its spawner's dict when it is created if the spawner has one already
        (has used it, or inherited it); otherwise the dict is found the first time it is asked
        for, through the spawning greenlets that have not finished, and a greenlet whose
        spawners all finished meanwhile starts a new tree.
        """
        tree = getattr(self, "_tree_locals", None)
        if tree is None:
            tree = self._tree_locals = _tree_of(self._spawner)
        return tree

    @spawn_tree_locals.setter
    def spawn_tree_locals(self, value: dict[str, Any]) -> None:
        self._tree_locals = value

    # -- running --------------------------------------------------------------------------------

    def start(self) -> None:
        """Schedule it to run in the hub soon. A no-op if already started."""
        if self._start is None and self._exception is _NOT_DONE and not self.gr_frame:
            # A started greenlet is its own ready entry (SelfEntry): no list per start.
            if type(self).__getitem__ is _entry_item:
                self._start = True
                schedule = self._hub.schedule  # (a local: see Hub.schedule)
                schedule(self)
            else:
                # A subclass with a __getitem__ of its own cannot be read as a ready entry.
                w = self._start = [self, None]
                self._hub.schedule(w)

    def start_later(self, seconds: float) -> None:
        """Schedule it to run after ``seconds``. A no-op if already started."""
        if self._start is None and self._exception is _NOT_DONE and not self.gr_frame:
            self._start = self._hub.timer(seconds, [self, PENDING], None)

    @classmethod
    def spawn(
        cls: type[Greenlet[_S]], run: Callable[..., _S], *args: Any, **kwargs: Any
    ) -> Greenlet[_S]:
        """Create and start one."""
        g = cls(run, *args, **kwargs)
        g.start()
        return g

    @classmethod
    def spawn_later(
        cls: type[Greenlet[_S]], seconds: float, run: Callable[..., _S], *args: Any, **kwargs: Any
    ) -> Greenlet[_S]:
        """Create one and start it after ``seconds``."""
        g = cls(run, *args, **kwargs)
        g.start_later(seconds)
        return g

    def run(self) -> None:
        """The greenlet body: calls ``_run`` and records the outcome. Never call it directly."""
        start = self._start
        self._start = None
        if start is not True and start is not None:
            # Started by a direct switch before its start_later() timer (or a subclass's list
            # entry) came up: that entry must not resume it later, in the middle of a wait.
            _disarm(start)
        fn = self._fn
        if fn is None:
            fn = self._run  # a subclass's method, or _nothing
        args = self.args
        kwargs = self.kwargs
        try:
            # Without keyword arguments, spare the dict that ``**kwargs`` builds on every call;
            # without arguments, a plain call (inlined by the interpreter, cheaper than unpacking
            # an empty tuple: ~140 instructions).
            if kwargs:
                result = fn(*args, **kwargs)
            elif args:
                result = fn(*args)
            else:
                result = fn()
        except GreenletExit as exc:
            self._finish(exc, None)
        except BaseException as exc:
            self._finish(None, exc)
        else:
            # _finish inlined for the common case: nobody linked or joined, a plain result.
            if self._links is None and self._joiners is None:
                self.value = result
                self._exception = None
                if args:
                    self.args = ()
                if kwargs:
                    self.kwargs = _NO_KWARGS
                self._spawner = None
            else:
                self._finish(result, None)

    def _finish(self, value: Any, exc: BaseException | None, report: bool = True) -> None:
        self.value = value
        self._exception = exc
        self.args = ()
        self.kwargs = _NO_KWARGS
        self._spawner = None
        if exc is not None and report:
            self._hub.handle_error(self, exc)
        links = self._links
        if links:
            # The joiners are woken only after the links ran (_notify_links), so that when
            # join() returns, every callback linked before has run (gevent's order); a join()
            # that comes in between waits for them too (_LinksRunning).
            self._links = _LINKS_RUNNING
            self._hub.run_callback(self._notify_links, links)
        elif self._joiners:
            self._joiners.claim_all(None)

    def _notify_links(self, callbacks: list[Callable[[Greenlet[Any]], Any]]) -> None:
        for callback in callbacks:
            try:
                callback(self)
            except BaseException as exc:
                self._hub.handle_error(callback, exc)
        if self._links is _LINKS_RUNNING:
            self._links = None
        # After the links: a link() callback's greenlet, spawned just now, is queued ahead of
        # the joiners, so it runs (until it finishes or blocks) before they return.
        if self._joiners:
            self._joiners.claim_all(None)

    def statistics(self) -> GreenletStatistics:
        """Links not run yet and greenlets in ``join()`` (for tests and debugging)."""
        return GreenletStatistics(len(self._links or ()), len(self._joiners or ()))

    # -- waiting for it -------------------------------------------------------------------------

    def join(self, timeout: float | None = None) -> None:
        """Wait until it is dead and its links have run, or ``timeout`` seconds passed. Never
        raises its exception."""
        if self._exception is not _NOT_DONE and self._links is not _LINKS_RUNNING:
            return
        joiners = self._joiners
        if joiners is None:
            joiners = self._joiners = WaitQueue()
        joiners.park(None, timeout)

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """Its return value, waiting for it; re-raises its exception if it failed.

        Raises :class:`Timeout` if it is not finished after ``timeout`` (at once if ``block`` is
        false).
        """
        if self._exception is _NOT_DONE:
            if not block:
                raise Timeout()
            self.join(timeout)
            if self._exception is _NOT_DONE:
                raise Timeout(timeout)
        elif block and self._links is _LINKS_RUNNING:
            self.join(timeout)  # finished, its links not run yet: they run first (see join)
        if self._exception is not None:
            raise self._exception
        return self.value  # type: ignore[return-value]

    def kill(
        self,
        exception: BaseException | type[BaseException] = GreenletExit,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Raise ``exception`` in it (GreenletExit by default) and, with ``block``, wait for it.

        A greenlet killed before it started never runs. A greenlet that catches the exception
        may go on running: ``kill`` then returns after ``timeout`` without raising.
        """
        if self._exception is not _NOT_DONE:
            return
        if (
            not greenlet.__bool__(self)
            and self.gr_frame is None
            and not greenlet.dead.__get__(self)
        ):
            # Never ran: cancel the start and finish it here, without printing anything.
            start = self._start
            self._start = None
            if start is not None and start is not True:
                _disarm(start)
            exc = exception() if isinstance(exception, type) else exception
            if isinstance(exc, GreenletExit):
                self._finish(exc, None)
            else:
                self._finish(None, exc, report=False)
            return
        if getcurrent() is self:
            raise exception
        self._hub.schedule(Throw(self, exception))
        if block:
            self.join(timeout)

    # -- links ----------------------------------------------------------------------------------

    def rawlink(self, callback: Callable[[Greenlet[Any]], Any]) -> None:
        """Call ``callback(self)`` in the hub when it finishes (at once if it has).

        The callback runs in the hub: it must not block.
        """
        if not callable(callback):
            raise TypeError(f"expected a callable, not {callback!r}")
        if self._exception is not _NOT_DONE:
            self._hub.run_callback(self._notify_links, [callback])
        else:
            self._add_link(callback)

    def _add_link(self, link: Any) -> None:
        if self._links is None:
            self._links = [link]
        else:
            self._links.append(link)

    def link(self, callback: Callable[[Greenlet[Any]], Any]) -> None:
        """Call ``callback(self)`` in a new greenlet when it finishes, however it finishes."""
        self.rawlink(_SpawnedLink(callback))

    def link_value(self, callback: Callable[[Greenlet[Any]], Any]) -> None:
        """Like :meth:`link`, only if it finishes successfully."""
        self.rawlink(_SpawnedLink(callback, when=True))

    def link_exception(self, callback: Callable[[Greenlet[Any]], Any]) -> None:
        """Like :meth:`link`, only if it fails."""
        self.rawlink(_SpawnedLink(callback, when=False))

    def unlink(self, callback: Callable[..., Any]) -> None:
        """Remove every link to ``callback`` (made by any of the link methods)."""
        if not self._links:
            return
        self._links = [
            x
            for x in self._links
            if not (x == callback or (type(x) is _SpawnedLink and x.callback == callback))
        ]

    def unlink_all(self) -> None:
        """Remove every link (callbacks of ``rawlink``, ``link``, ``link_value``, ...).

        Greenlets waiting in :meth:`join` or :meth:`get` keep waiting: they are not links. Links
        of a finished greenlet already handed to the hub still run.
        """
        if self._links is not _LINKS_RUNNING:
            self._links = None

    def has_links(self) -> int:
        """How many links are waiting to be called (a true value if any)."""
        return len(self._links or ())


_entry_item = SelfEntry.__getitem__


class GreenletStatistics:
    """What ``Greenlet.statistics()`` reports: ``links`` not run yet, ``joiners`` waiting."""

    __slots__ = ("joiners", "links")

    def __init__(self, links: int, joiners: int) -> None:
        self.links = links
        self.joiners = joiners

    def __repr__(self) -> str:
        return f"GreenletStatistics(links={self.links}, joiners={self.joiners})"


_wref = weakref.ref


def _dead_ref() -> None:
    """What ``spawning_greenlet`` answers once the spawner is no longer known."""
    return None


def _tree_of(spawner: greenlet | None) -> dict[str, Any]:
    """The spawn-tree dict a child of ``spawner`` shares (see Greenlet.spawn_tree_locals)."""
    if spawner is None:
        return {}  # gone: a new tree
    if isinstance(spawner, Greenlet):
        return spawner.spawn_tree_locals
    if spawner.parent is None:
        return {}  # the thread's main greenlet: each child starts its own tree
    tree = getattr(spawner, "spawn_tree_locals", None)
    if tree is None:
        # A raw greenlet (spawn_raw) spawning Greenlets: it holds the tree its children share.
        tree = spawner.spawn_tree_locals = {}  # type: ignore[attr-defined]
    return tree


def _disarm(start: Any) -> None:
    """Make a pending start entry (start_later's Timer, or a ``[greenlet, None]`` list) inert."""
    if isinstance(start, Timer):
        start.cancel()
        start.entry[0] = None
    else:
        start[0] = None


class _SpawnedLink:
    """A link that runs its callback in a fresh greenlet, optionally only on success/failure."""

    __slots__ = ("callback", "when")

    def __init__(self, callback: Callable[[Any], Any], when: bool | None = None) -> None:
        if not callable(callback):
            raise TypeError(f"expected a callable, not {callback!r}")
        self.callback = callback
        self.when = when

    def __call__(self, source: Any) -> None:
        if self.when is None or self.when == source.successful():
            Greenlet.spawn(self.callback, source)

    def __eq__(self, other: object) -> bool:
        if type(other) is _SpawnedLink:
            return self.callback == other.callback and self.when == other.when
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def spawn(run: Callable[..., _T], *args: Any, **kwargs: Any) -> Greenlet[_T]:
    """Run ``run(*args, **kwargs)`` in a new greenlet, started now; returns the Greenlet."""
    # The hottest way to make a greenlet. A plain call when there is nothing to unpack (no dict
    # copied for an empty ``**kwargs``, no generic call for ``*args``: about 250 instructions
    # less per spawn), and start() inlined (a new greenlet is its own ready-queue entry, see
    # Greenlet.__getitem__).
    if kwargs:
        g: Greenlet[_T] = Greenlet(run, *args, **kwargs)
    elif args:
        g = Greenlet(run, *args)
    else:
        g = Greenlet(run)
    g._start = True
    schedule = g._hub.schedule  # (a local: see Hub.schedule)
    schedule(g)
    return g


def spawn_later(seconds: float, run: Callable[..., _T], *args: Any, **kwargs: Any) -> Greenlet[_T]:
    """Like :func:`spawn`, started after ``seconds``."""
    g: Greenlet[_T] = Greenlet(run, *args, **kwargs)
    g.start_later(seconds)
    return g


def joinall(
    greenlets: Iterable[_G],
    timeout: float | None = None,
    raise_error: bool = False,
    count: int | None = None,
) -> list[_G]:
    """Wait for the greenlets to finish; return those that did, in the order they finished.

    ``timeout`` bounds the whole wait. With ``raise_error``, the first failure found is raised.
    ``count`` returns after that many finished.
    """
    greenlets = list(greenlets)
    if timeout is None and count is None and not raise_error:
        for g in greenlets:
            # A finished Greenlet needs no join() call (~240 instructions less each, by
            # callgrind); a subclass or another joinable object is always asked.
            if type(g) is not Greenlet or g._exception is _NOT_DONE or g._links is _LINKS_RUNNING:
                g.join()
        return greenlets
    done = []
    for g in iwait(greenlets, timeout, count):
        done.append(g)
        if raise_error and not g.successful():
            raise g.exception  # type: ignore[misc]
    return done


def killall(
    greenlets: Iterable[Greenlet[Any]],
    exception: BaseException | type[BaseException] = GreenletExit,
    block: bool = True,
    timeout: float | None = None,
) -> None:
    """Kill every greenlet; with ``block``, wait (up to ``timeout``) until they are dead."""
    greenlets = list(greenlets)
    for g in greenlets:
        g.kill(exception, block=False)
    if block:
        joinall(greenlets, timeout)


class _Collector:
    """Gathers objects that became ready for iwait(); woken from their rawlinks, in the hub."""

    __slots__ = ("items", "waiters")

    def __init__(self) -> None:
        self.items: deque[Any] = deque()
        self.waiters = WaitQueue()

    def add(self, obj: Any) -> None:
        self.items.append(obj)
        if self.waiters:
            self.waiters.claim_first(None)


def iwait(
    objects: Iterable[_L], timeout: float | None = None, count: int | None = None
) -> Iterator[_L]:
    """Yield each object as it becomes ready (Greenlets, Events, AsyncResults, ...).

    Stops after ``count`` objects, or when ``timeout`` (for the whole iteration) expires. Objects
    need ``rawlink(callback)`` and ``unlink(callback)``.
    """
    objects = list(objects)
    count = len(objects) if count is None else min(count, len(objects))
    if count <= 0:
        return
    hub = get_hub()
    deadline = None if timeout is None else hub.clock() + timeout
    collector = _Collector()
    add = collector.add
    for obj in objects:
        obj.rawlink(add)
    try:
        for _ in range(count):
            if not collector.items:
                remaining = None if deadline is None else max(deadline - hub.clock(), 0.0)
                if collector.waiters.park(None, remaining) is TIMEOUT and not collector.items:
                    return
            yield collector.items.popleft()
    finally:
        for obj in objects:
            obj.unlink(add)


def wait(
    objects: Iterable[Any] | None = None, timeout: float | None = None, count: int | None = None
) -> Any:
    """Wait for objects to become ready and return the list of those that did.

    With no ``objects``, wait until the hub has nothing left to do and return True (False if
    ``timeout`` expired first).
    """
    if objects is None:
        return get_hub().join(timeout)
    return list(iwait(objects, timeout, count))
