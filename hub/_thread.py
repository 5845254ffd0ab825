"""Green threads: the cooperative counterpart of the ``_thread`` module.

``patch_thread()`` puts these names into ``_thread`` (and, through ``hub.threading``, into the
globals of ``threading`` that were copied from ``_thread``). After it, a "thread" started by
``_thread.start_new_thread`` or ``threading.Thread.start()`` is a greenlet of the calling OS
thread's hub, and the ``_thread`` primitives everything in ``threading`` and ``queue`` is built
on (locks, the RLock, thread-locals, the thread-state sentinel, the 3.13 thread handle) wait
cooperatively.

Identity
========

``get_ident()`` answers per greenlet, because ``threading`` keys its table of live threads
(``threading._active``) by it and ``current_thread()`` looks itself up there:

- the thread's root greenlet, and its hub, answer the OS thread's own ident, so
  ``threading.main_thread()`` (created at import, with the real ident) is still the main
  greenlet's ``current_thread()``;
- a green thread answers a number taken when it was started;
- any other greenlet (``hub.spawn``) gets a number the first time it asks. ``threading`` then
  makes a ``_DummyThread`` for it and keeps it in ``_active`` forever (3.10-3.12: "they leave an
  entry in the _active dict forever after"); with one greenlet per request and logging's
  ``%(threadName)s`` that would be a leak per request, so a weak reference to the greenlet drops
  the dummy when the greenlet is freed.

The numbers come from one counter starting at 1; the OS idents (``pthread_t`` addresses) are
never that small, so the two never collide. ``get_native_id()`` gives a green thread the same
number (there is no OS thread id to give), and the root greenlet the real one.

Locks and other OS threads
==========================

:class:`LockType` is ``hub.Lock`` with the rest of the ``_thread.lock`` API. ``hub.Lock``
already serves waiters of every OS thread: a real thread (a ``hub.threadpool`` worker, a thread
started with ``monkeypatch.get_original("threading", "Thread")``, a C library's callback) that
waits on a patched lock waits on its own hub, and a release from any thread hands the lock to
the first waiter through that waiter's hub (``Hub.run_threadsafe``). So a lock shared by
greenlets and real threads never spins and never loses a wake-up.

Version differences
===================

Every difference between Python versions that this package knows of is in the
``_VERSION_SPECIFIC`` section at the end of this module and in ``hub.threading``: 3.10-3.12 tie
a thread's end to a "sentinel" lock (``_set_sentinel``), released when the thread is gone;
3.13 replaced it by a thread handle (``start_joinable_thread``, ``_ThreadHandle``,
``_make_thread_handle``, ``_shutdown``).
"""

from __future__ import annotations

import _thread
import atexit
import itertools
import signal
import sys
import traceback
import weakref
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from greenlet import GreenletExit, getcurrent, greenlet

from . import _core
from ._core import Hub
from ._event import Event
from ._greenlet import Greenlet
from ._greenlet import sleep as _sleep
from ._imp import wait_for_import_lock
from ._lock import Lock as _Lock
from ._lock import RLock as _RLock
from .local import local as _greenlet_local
from .signal import call_handler as _signal_call_handler

__all__ = [
    "TIMEOUT_MAX",
    "LockType",
    "RLock",
    "_local",
    "allocate",
    "allocate_lock",
    "error",
    "get_ident",
    "get_native_id",
    "interrupt_main",
    "is_green_thread",
    "lock",
    "start_new",
    "start_new_thread",
]

error = _thread.error
TIMEOUT_MAX: float = _thread.TIMEOUT_MAX
_next_ident = itertools.count(1).__next__
_real_allocate_lock = _core.allocate_lock
_WaitQueue = _core.WaitQueue
_greenlet_active = greenlet.__bool__  # started and not dead (Hub does not override it)


# -- identity ---------------------------------------------------------------------------------

# id(greenlet) -> (weak reference to it, its ident), for greenlets that are not green threads.
_plain_idents: dict[int, tuple[weakref.ref[Any], int]] = {}


def get_ident() -> int:
    """The current "thread's" identity: per greenlet (see the module docstring)."""
    # Any: a green thread's greenlet has its ident, any other has not; asking (EAFP) is the
    # fast path, which mypy cannot narrow (an isinstance() would cost a call here).
    g: Any = getcurrent()
    try:
        return g._thread_ident  # a green thread
    except AttributeError:
        pass
    if g.parent is None:
        # The thread's root greenlet keeps its answer: the main greenlet asks often (every
        # Thread() and join() calls current_thread()), and the AttributeError above is most of
        # the cost of asking.
        ident = g._thread_ident = _core.get_ident()
        return ident
    if isinstance(g, Hub):
        return _core.get_ident()
    entry = _plain_idents.get(id(g))
    if entry is not None and entry[0]() is g:
        return entry[1]
    return _new_plain_ident(g)


def _new_plain_ident(g: Any) -> int:
    key = id(g)
    ident = _next_ident()

    def forget(ref: weakref.ref[Any]) -> None:
        entry = _plain_idents.get(key)
        if entry is not None and entry[0] is ref:
            del _plain_idents[key]
        _forget_dummy(ident)

    _plain_idents[key] = (weakref.ref(g, forget), ident)
    return ident


def _forget_dummy(ident: int) -> None:
    # The greenlet is gone: drop the _DummyThread threading made for it, if any. Runs from a
    # weakref callback, so in whatever greenlet freed it; the C RLock around _active never
    # switches, and is reentrant, so this cannot block.
    threading = sys.modules.get("threading")
    active = getattr(threading, "_active", None)
    if active is None:
        return
    thread = active.get(ident)
    if thread is not None and type(thread).__name__ == "_DummyThread":
        with threading._active_limbo_lock:  # type: ignore[union-attr]
            if active.get(ident) is thread:
                del active[ident]


def _release_dummy_tracker() -> None:
    # Python 3.13 keeps a _DeleteDummyThreadOnDel in threading._thread_local_info, a per-OS-thread
    # slot that each new _DummyThread of the thread overwrites. With plain greenlets asking for
    # current_thread(), the main thread's last one lives until the interpreter tears threading's
    # globals down, and its __del__ then fails ("'NoneType' object does not support the context
    # manager protocol", printed at exit). Let it go while threading is still whole: atexit runs
    # after threading._shutdown() and before module teardown. (_forget_dummy has dropped the
    # dummy from _active already, so its __del__ finds nothing to do.)
    threading = sys.modules.get("threading")
    info = getattr(threading, "_thread_local_info", None)
    if info is not None:
        try:
            del info._track_dummy_thread_ref
        except AttributeError:
            pass


if sys.version_info >= (3, 13):
    atexit.register(_release_dummy_tracker)


# Where introspection looks for them (threading's __all__ check reads __module__).
get_ident.__module__ = "_thread"


def get_native_id() -> int:
    """The native id: the OS thread's in its root greenlet, the ident of a green thread."""
    g = getcurrent()
    if type(g) is _GreenThread:  # every Thread's _bootstrap_inner asks: the common case first
        return g._thread_ident
    if g.parent is None or isinstance(g, Hub):
        return _core.get_native_id()
    return get_ident()


get_native_id.__module__ = "_thread"


def is_green_thread(g: Any = None) -> bool:
    """True if ``g`` (default: the current greenlet) is a green thread started through
    ``_thread``/``threading`` after patching."""
    return isinstance(getcurrent() if g is None else g, _GreenThread)


# -- locks ------------------------------------------------------------------------------------


# Python 3.13 made the lock type callable (threading.Lock is that type there); before, only
# allocate_lock() makes locks, and calling the type raises TypeError.
_LOCK_TYPE_CALLABLE = sys.version_info >= (3, 13)


class lock(_Lock):  # the stdlib's name, which repr() and __module__ checks read
    """``_thread.lock`` for greenlets: ``hub.Lock`` with the rest of the stdlib lock's API."""

    __slots__ = ()
    __module__ = "_thread"

    def __new__(cls, *args: Any, **kwargs: Any) -> lock:
        if not _LOCK_TYPE_CALLABLE:
            raise TypeError("cannot create '_thread.lock' instances")
        return object.__new__(cls)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The C type was never subclassable (3.13 tests that it stays so).
        raise TypeError("type '_thread.lock' is not an acceptable base type")

    acquire_lock = _Lock.acquire
    release_lock = _Lock.release
    locked_lock = _Lock.locked

    # The protocol threading.Condition binds from its lock when the lock has it. Without it,
    # Condition wraps the lock in Python fallbacks of its own, and its _is_owned() takes and
    # releases the lock to learn whether it is held: two calls into the lock, at every wait()
    # and every notify(). These mean exactly what those fallbacks mean for a plain lock.
    # _is_owned is the state lock's own C ``locked`` (Condition binds it once, at its
    # construction, and then calls it without a Python frame, at every wait() and notify()).
    # _at_fork_reinit keeps that state lock object, so the bound method never goes stale.
    @property
    def _is_owned(self) -> Callable[[], bool]:
        return self._lock.locked

    _release_save = _Lock.release

    def _acquire_restore(self, _state: Any) -> None:
        # Lock.acquire()'s fast path spelled out: a woken Condition waiter mostly finds the
        # lock free.
        if not self._lock.acquire(False):
            _Lock.acquire(self)

    def __repr__(self) -> str:
        state = "locked" if self.locked() else "unlocked"
        cls = type(self)
        return f"<{state} {cls.__module__}.{cls.__qualname__} object at {id(self):#x}>"

    @classmethod
    def _allocate(cls) -> lock:
        """A new, unlocked cooperative lock (``allocate_lock()``)."""
        # Lock.__init__ spelled out: a call fewer per threading.Condition wait.
        new = object.__new__(cls)
        new._lock = _real_allocate_lock()
        new._waiters = _WaitQueue()
        new._bound = 1
        return new


LockType = lock
# A bound method, not a function: code keeps the factory as a class attribute
# (``locktype = _thread.allocate_lock`` in CPython's lock tests) and calls it through an
# instance, which would pass the instance to a plain function; builtins and bound methods do not
# bind again.
allocate_lock = lock._allocate
allocate = allocate_lock
# The classmethod object in the class's dict, to reach its function (threading.Lock up to 3.12
# is this factory: see get_ident).
lock.__dict__["_allocate"].__func__.__module__ = "_thread"


class RLock(_RLock):
    """``_thread.RLock`` for greenlets: owned by a greenlet, not by the OS thread."""

    __slots__ = ()
    __module__ = "_thread"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The C RLock ignores arguments (threading.RLock() warns about them on 3.13).
        super().__init__()

    def _acquire_slow(self, me: Any, blocking: bool, timeout: float | None) -> bool:
        # The C RLock refuses a timeout it cannot represent before anything else, even when
        # the caller holds it already (timeout -1, the fast path, is never one).
        if timeout is not None and timeout > TIMEOUT_MAX:
            raise OverflowError("timeout value is too large")
        return _RLock._acquire_slow(self, me, blocking, timeout)

    def _recursion_count(self) -> int:
        # What the C RLock answers: the depth if the caller holds it, else 0.
        return self._count if self._is_owned() else 0

    def _at_fork_reinit(self) -> None:
        self._block._at_fork_reinit()
        self._owner = None
        self._count = 0

    def __repr__(self) -> str:
        owner = self._owner
        state = "unlocked" if owner is None else "locked"
        ident = 0 if owner is None else _ident_of(owner)
        cls = type(self)
        return (
            f"<{state} {cls.__module__}.{cls.__qualname__} object owner={ident} "
            f"count={self._count} at {id(self):#x}>"
        )


def _ident_of(g: Any) -> int:
    try:
        return g._thread_ident
    except AttributeError:
        pass
    entry = _plain_idents.get(id(g))
    return entry[1] if entry is not None else 0


class _local(_greenlet_local):
    """``_thread._local``: thread-local storage, per greenlet (``hub.local``)."""

    __slots__ = ()
    __module__ = "_thread"


# -- interrupt_main -----------------------------------------------------------------------------

_real_interrupt_main = _thread.interrupt_main


def interrupt_main(signum: int = signal.SIGINT) -> None:
    """Simulate ``signum`` arriving in the main thread (``_thread.interrupt_main``).

    The C function makes the main OS thread run the signal's handler at its next check, which
    is whatever greenlet runs then: called from a green thread, that is the caller itself. So
    there, with the default SIGINT handler, the KeyboardInterrupt is thrown into the main
    greenlet instead (through its hub), where the stdlib would raise it.

    Called by the main greenlet, a Python handler installed through the cooperative
    ``signal.signal`` runs right here (:func:`hub.signal.call_handler`), so that what it raises
    comes out of this call as with the stdlib, rather than in a greenlet of its own.
    """
    g = getcurrent()
    if (
        g.parent is None
        and _core.get_ident() == _core.main_thread_ident
        and _signal_call_handler(signum, sys._getframe(1))
    ):
        return
    if (
        g.parent is not None
        and signum == signal.SIGINT
        and _core.get_ident() == _core.main_thread_ident
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        _core.get_hub().handle_error(None, KeyboardInterrupt())
        # Let the main greenlet run now, as the signal would: it gets the exception at its
        # next wait (the C function makes it raise at its next bytecode).
        _sleep(0)
        return
    # typeshed declares signal.Signals; the C function takes any signal number, as we do.
    _real_interrupt_main(signum)  # type: ignore[arg-type]


# -- green threads ----------------------------------------------------------------------------

_DUMMY_LEAVES_WITH_THREAD = sys.version_info >= (3, 13)
# Green threads alive (their body entered, not finished), for _count().
_live = [0]
# Green threads started and not finished, by ident, of every OS thread: the threads a fork
# child does not have (see _after_fork_in_child), and those hub._asyncexc can reach
# (find_green_thread).
_threads: dict[int, _GreenThread] = {}


class _GreenThread(Greenlet):
    """The greenlet of a green thread; it runs ``_thread_body``."""

    __slots__ = ("_sentinels", "_starter", "_thread_handle", "_thread_ident")

    def __init__(self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: Any) -> None:
        Greenlet.__init__(self, _thread_body, function, args, kwargs)
        self._thread_ident = _next_ident()
        self._sentinels: list[lock] | None = None
        self._thread_handle: Any = None
        # The ready entry of the greenlet that runs it at once, while that one waits in
        # _run_at_once (see there); else None.
        self._starter: list[Any] | None = None

    def start(self) -> None:
        """Schedule the thread's greenlet (see ``Greenlet.start``) and count it as started."""
        _threads[self._thread_ident] = self
        Greenlet.start(self)

    def _finish(self, *args: Any, **kwargs: Any) -> None:
        # Also reached by a kill before the greenlet ever ran, when _thread_body never does.
        _threads.pop(self._thread_ident, None)
        super()._finish(*args, **kwargs)


# Threads that ended straight into their starter since one last went through the hub, and how
# many may in a row (see _run_at_once). (One count for every OS thread: a lost update between
# two of them only moves the next trip through the hub.)
_direct_ends = [0]
_DIRECT_ENDS = 100


def _thread_body(function: Callable[..., Any], args: tuple[Any, ...], kwargs: Any) -> None:
    # What the C thread bootstrap does around the function: SystemExit ends the thread quietly,
    # any other exception goes to sys.unraisablehook; then the thread state "is deleted", which
    # releases the sentinel locks (3.10-3.12) and marks the handle done (3.13).
    me: Any = getcurrent()
    _live[0] += 1
    try:
        if kwargs:
            function(*args, **kwargs)
        elif args:
            function(*args)
        else:
            function()  # Thread.start()'s case: no tuple to unpack, no dict to build
    except (SystemExit, GreenletExit):
        pass
    except BaseException as exc:
        _unraisable(exc, function)
    finally:
        _live[0] -= 1
        _threads.pop(me._thread_ident, None)
        # A _DummyThread made for this thread (current_thread() in a thread not started by
        # threading) goes with it on 3.13, as it does there for OS threads; before, it stays in
        # threading._active (and CPython's tests rely on both).
        if _DUMMY_LEAVES_WITH_THREAD:
            _forget_dummy(me._thread_ident)
        sentinels = me._sentinels
        if sentinels:
            me._sentinels = None
            for sentinel in sentinels:
                if sentinel._lock.locked():  # (its state lock: see lock._is_owned)
                    sentinel.release()
        handle = me._thread_handle
        if handle is not None:
            handle._set_done()
        starter = me._starter
        if starter is not None and starter[0] is not None:
            # Started at once and never waited: its starter is still in _run_at_once's switch,
            # not yet resumed by the hub. End into it directly (see _run_at_once), but for
            # every _DIRECT_ENDS-th such end, which goes through the hub as before.
            me._starter = None
            ends = _direct_ends[0] + 1
            if ends < _DIRECT_ENDS:
                _direct_ends[0] = ends
                me.parent = starter[0]
                starter[0] = None
            else:
                _direct_ends[0] = 0


# 3.13 names the function in the message and passes no object; before, the object is it.
_UNRAISABLE_NAMES_FUNCTION = sys.version_info >= (3, 13)


def _unraisable(exc: BaseException, function: Any) -> None:
    # What the C thread bootstrap reports. sys.UnraisableHookArgs cannot be built from Python,
    # and the default hook accepts nothing else: print what it would print ourselves, and give
    # a hook the program installed an object with the same attributes.
    message = "Exception ignored in thread started by"
    if _UNRAISABLE_NAMES_FUNCTION:
        message, function = f"{message} {function!r}", None
    hook = sys.unraisablehook
    try:
        if hook is not sys.__unraisablehook__:
            hook(
                SimpleNamespace(
                    exc_type=type(exc),
                    exc_value=exc,
                    exc_traceback=exc.__traceback__,
                    err_msg=message,
                    object=function,
                )
            )
            return
    except BaseException as hook_error:
        exc = hook_error
        message = "Exception ignored in sys.unraisablehook"
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(f"{message}: {function!r}\n" if function is not None else f"{message}\n")
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=stream)
        stream.flush()
    except Exception:
        pass  # no usable stderr: nothing better to do, as in the C code


def find_green_thread(ident: int) -> Greenlet[Any] | None:
    """The green thread whose ident is ``ident``, started and not finished (any OS thread's)."""
    return _threads.get(ident)


def _check_start_args(function: Any, args: Any, kwargs: Any) -> None:
    if not callable(function):
        raise TypeError("first arg must be callable")
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")


def start_new_thread(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None = None
) -> int:
    """Start ``function(*args, **kwargs)`` in a new green thread; return its ident.

    The thread is a greenlet of the calling OS thread's hub: it runs once the caller waits.
    """
    _check_start_args(function, args, kwargs)
    g = _GreenThread(function, args, kwargs)
    g.start()
    return g._thread_ident


start_new = start_new_thread


def start_new_thread_at_once(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None = None
) -> int:
    """:func:`start_new_thread` for ``threading.Thread.start()`` (3.10-3.12): the thread runs
    at once, until it first waits or ends (see :func:`_run_at_once`)."""
    # (Thread.start() passes a bound method and (): the check's call is spared then.)
    if kwargs is not None or type(args) is not tuple or not callable(function):
        _check_start_args(function, args, kwargs)
    g = _GreenThread(function, args, kwargs)
    _run_at_once(g)
    return g._thread_ident


def _run_at_once(g: _GreenThread) -> None:
    # Start ``g`` (not started yet) and run it until it first waits or ends.
    #
    # threading.Thread.start() waits on the thread's _started Event until the thread has set
    # it, first thing in its _bootstrap_inner. Waiting for that the ordinary way costs a
    # Condition wait, a notify and a trip through the hub (about 15,000 instructions of the
    # 135,000 a start+join took: callgrind, docs/threading.md). Instead the starter queues
    # itself as ready, as sleep(0) does, and switches into the new thread directly (which is
    # then not queued: a thread's first run is not a resumption): when the thread first waits,
    # its parent (the hub) runs what is ready, the starter included, and the starter's wait
    # finds the Event set. Only the hub resumes greenlets that wait, and the starter is resumed
    # by the hub, or:
    #
    # When the thread ends before the starter was resumed (mostly: it never waited, a short
    # thread as bench/micro.py's thread_start_join), the starter is still in the switch below,
    # its entry armed. _thread_body then makes the starter the thread's parent and disarms the
    # entry, so the thread's end returns straight here, as a greenlet's end returns to the
    # greenlet that switched into it: the trip through the hub (a switch and a loop turn, ~5,000
    # instructions by callgrind) is saved. Through the hub, start() was a yield point, as
    # sleep(0): the greenlets ready before the starter ran first, and after a batch of ready
    # entries the hub polled IO and ran timers. A loop of such starts would now run without
    # ever letting them, so every _DIRECT_ENDS-th thread ends through the hub all the same (a
    # yield per 100 starts: the hub itself polls after a batch of 1,000 entries).
    #
    # Whether the entry is armed tells the two cases apart: any resumption of the starter (a
    # switch, or a throw: a Timeout, a kill, KeyboardInterrupt) runs the ``finally`` below
    # first, which disarms it, before anything else can run. The starter is not waiting on
    # the hub (no wait registered; it switched into the thread itself), so nothing else
    # resumes it. (The thread's own wake-ups are
    # queued behind the starter's entry, so the hub resumes the starter first; were the hub
    # ever to run the thread to its end before that, it would be left where it switched into
    # the thread, as when any greenlet waits, and go on from there at the starter's next wait.)
    #
    # Not from the hub (it cannot queue itself), nor before the hub's greenlet has run once
    # (the thread's end would then start the hub's loop with the thread's result): those start
    # the thread the ordinary way. What can reach the starter while it is queued (all
    # BaseException, which Thread.start() does not catch) comes out of start(), as it would
    # from the stdlib's wait on _started.
    cur: Any = getcurrent()
    hub = g._hub
    if cur is hub or not _greenlet_active(hub):
        g.start()
        return
    _threads[g._thread_ident] = g
    starter = g._starter = [cur, None]  # the starter's ready entry, as sleep(0) queues one
    hub.schedule(starter)
    try:
        g.switch()
    finally:
        starter[0] = None  # resumed (or thrown into): the entry must not resume it again


def _count() -> int:
    """Threads started through ``_thread`` and alive: the real ones and the green ones."""
    return _core.thread_count() + _live[0]


def _set_sentinel() -> lock:
    """A lock released when the current green thread ends (``_thread._set_sentinel``,
    Python 3.10-3.12)."""
    new = allocate_lock()
    g: Any = getcurrent()
    if type(g) is _GreenThread:
        sentinels = g._sentinels
        if sentinels is None:
            g._sentinels = [new]
        else:
            sentinels.append(new)
    return new


# -- _VERSION_SPECIFIC: the 3.13 thread handle --------------------------------------------------


class _ThreadHandle:
    """A green thread's handle (``_thread._ThreadHandle``, Python 3.13+): join and done-ness."""

    __slots__ = ("__weakref__", "_done", "_event", "_ident", "_started")

    def __init__(self) -> None:
        self._ident = 0
        self._done = False
        self._started = False
        self._event = Event()

    @property
    def ident(self) -> int:
        """The thread's ident (0 until it started)."""
        return self._ident

    def is_done(self) -> bool:
        """True once the thread has ended."""
        return self._done

    def _set_done(self) -> None:
        if not self._started:
            raise RuntimeError("thread not started")
        self._done = True
        self._event.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the thread has ended, at most ``timeout`` seconds (None or < 0: forever)."""
        if not self._started:
            raise RuntimeError("thread not started")
        if self._done:
            return
        if self._started and self._ident == get_ident():
            raise RuntimeError("Cannot join current thread")
        if timeout is not None and timeout < 0:
            timeout = None
        self._event.wait(timeout)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}._ThreadHandle object: ident={self._ident}>"


# Handles of non-daemon green threads, which _shutdown() waits for.
_non_daemon: weakref.WeakSet[_ThreadHandle] = weakref.WeakSet()


def start_joinable_thread(
    function: Callable[..., Any], handle: Any = None, daemon: bool = True
) -> Any:
    """Start ``function()`` in a new green thread; return its :class:`_ThreadHandle`
    (``_thread.start_joinable_thread``, Python 3.13+).

    A handle of the stdlib's own class (a ``threading.Thread`` created before patching) gets a
    real OS thread, since only the C code can complete such a handle.
    """
    return _start_joinable(function, handle, daemon, False)


def start_joinable_thread_at_once(
    function: Callable[..., Any], handle: Any = None, daemon: bool = True
) -> Any:
    """:func:`start_joinable_thread` for ``threading.Thread.start()`` (3.13+): the thread runs
    at once, until it first waits or ends (see :func:`_run_at_once`)."""
    return _start_joinable(function, handle, daemon, True)


def _start_joinable(function: Any, handle: Any, daemon: bool, at_once: bool) -> Any:
    if not callable(function):
        raise TypeError("thread function must be callable")
    if handle is None:
        handle = _ThreadHandle()
    elif not isinstance(handle, _ThreadHandle):
        return _core.start_joinable_thread(function, handle=handle, daemon=daemon)
    if handle._started:
        raise RuntimeError("thread already started")
    g = _GreenThread(function, (), {})
    handle._started = True
    handle._ident = g._thread_ident
    g._thread_handle = handle
    if not daemon:
        _non_daemon.add(handle)
    if at_once:
        _run_at_once(g)
    else:
        g.start()
    return handle


def _make_thread_handle(ident: int) -> _ThreadHandle:
    """A handle for a thread that was not started here (a dummy thread): never done."""
    handle = _ThreadHandle()
    handle._ident = ident
    handle._started = True
    return handle


def _shutdown() -> None:
    """Wait for every non-daemon thread, green ones first (``_thread._shutdown``, 3.13+)."""
    me = get_ident()
    while True:
        pending = [h for h in _non_daemon if not h._done and h._ident != me]
        if not pending:
            break
        for handle in pending:
            handle.join()
    if _core.thread_shutdown is not None:
        _core.thread_shutdown()


# -- fork: the child has only the forking thread --------------------------------------------------
#
# A fork child has one thread, the one that called fork(); threading's own at-fork hook (it runs
# before this one: threading registers it when imported, and hub._core imports threading) has
# already made that thread threading.main_thread(), marked every other Thread object stopped and
# emptied threading._active of them. What is left to do is what CPython's C code does for real
# threads, for the green ones:
#
# - the greenlets of the other green threads must never run again: the hub abandons them
#   (Hub.abandon; hub/_core/_fork.py has the design: disarmed waits, kept alive, never killed);
# - their thread state "is deleted": the 3.10-3.12 sentinel locks are released and the 3.13
#   handles marked done, so join() of one returns and is_alive() answers False, as for a real
#   thread (threading._after_fork relies on the C code having done this);
# - the counts (_count(), _shutdown()'s non-daemon handles) forget them.
#
# Who forked decides what else vanishes:
#
# - the main greenlet (or the hub, from a callback): it stays the main thread; every green
#   thread vanishes;
# - a green thread: it is the child's main thread; the other green threads and the main
#   greenlet vanish, and the forking thread takes the main greenlet's role in the hub (LoopExit,
#   KeyboardInterrupt, SystemExit reach it); when it has ended and nothing can run any more, the
#   child exits with status 0, as a process whose last thread ended;
# - a plain greenlet (hub.spawn): under patch_thread() threading counts it as a thread of its own
#   (its own get_ident(), a dummy Thread), so it is handled as a green thread is, and threading
#   made it the child's main thread; without patch_thread() it runs in the main thread, which
#   stays. The rule below asks threading which one it decided: the main greenlet survives
#   exactly when threading.main_thread() is still the OS thread's own ident.
#
# Plain greenlets are not threads: they all keep running in the child (as with gevent), in
# either case. Real OS threads (hub.threadpool workers, RealThread) are the C code's business,
# as before: the core's own fork hook fails the pool's jobs that were in flight.

# threading.main_thread() as it was just before the fork (threading replaces it in the child).
_main_before_fork: list[Any] = [None]


# The ident of the thread that is the process's main one, when it is not the OS thread's own
# (a fork child of a green thread or plain greenlet), for _get_main_thread_ident; and its value
# before the fork in progress, which the parent gets back.
_main_ident: list[int | None] = [None]
_main_ident_before_fork: list[int | None] = [None]
_real_get_main_thread_ident: Any = getattr(_thread, "_get_main_thread_ident", None)


def _get_main_thread_ident() -> int:
    """The main thread's ident (``_thread._get_main_thread_ident``, 3.13+): the OS thread's, or
    in a fork child the forking green thread's (3.13's threading._after_fork makes its
    ``_MainThread`` with it when the forking thread was not started by threading)."""
    ident = _main_ident[0]
    if ident is not None:
        return ident
    return _real_get_main_thread_ident() if _real_get_main_thread_ident else _core.get_ident()


_get_main_thread_ident.__module__ = "_thread"


def _before_fork() -> None:
    wait_for_import_lock()
    threading = sys.modules.get("threading")
    _main_before_fork[0] = None if threading is None else threading.main_thread()
    # Set for the child now: threading's own hook, which runs before ours, reads it there.
    _main_ident_before_fork[0] = _main_ident[0]
    me = getcurrent()
    _main_ident[0] = None if me.parent is None or isinstance(me, Hub) else get_ident()


def _after_fork_in_parent() -> None:
    _main_ident[0] = _main_ident_before_fork[0]


def _main_thread_stays() -> bool:
    """In the child: did threading keep the OS thread's own identity as its main thread?"""
    threading = sys.modules.get("threading")
    if threading is None:
        return True
    return threading.main_thread().ident == _core.get_ident()


def _thread_state_deleted(g: _GreenThread) -> None:
    # What the C code does when a real thread's state goes away, without running the thread.
    sentinels, g._sentinels = g._sentinels, None
    for sentinel in sentinels or ():
        if sentinel.locked():
            sentinel.release()
    handle = g._thread_handle
    if handle is not None and not handle._done:
        handle._set_done()


def _after_fork_in_child() -> None:
    me: Any = getcurrent()
    survivor = me if isinstance(me, _GreenThread) else None
    gone = [g for g in _threads.values() if g is not survivor]
    _threads.clear()
    if survivor is not None:
        _threads[survivor._thread_ident] = survivor
    _live[0] = 0 if survivor is None else 1
    root = me
    while root.parent is not None:
        root = root.parent
    successor = None
    if me is not root and not isinstance(me, Hub) and not _main_thread_stays():
        successor = me
    hub = _core.get_hub_if_exists()
    if hub is not None:
        mine = [g for g in gone if getattr(g, "_hub", None) is hub]
        if successor is not None:
            mine.append(root)
        hub.abandon(mine, successor)
    for g in gone:
        _thread_state_deleted(g)
    old_main = _main_before_fork[0]
    _main_before_fork[0] = None
    if successor is not None and old_main is not None:
        # 3.13: the old main thread's handle is the C one, which the C code leaves running
        # (the OS thread that forked is the main one); it is gone here.
        handle = getattr(old_main, "_handle", None)
        if handle is not None and not handle.is_done():
            handle._set_done()


if _core.register_at_fork is not None:
    _core.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
