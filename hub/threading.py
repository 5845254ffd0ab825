"""What ``patch_thread()`` puts into ``threading``, and :class:`RealThread`.

``threading`` keeps its own classes (``Thread``, ``Condition``, ``Event``, ``Semaphore``,
``Barrier``, ``Timer``: programs introspect them). They are built on a few ``_thread`` callables
that ``threading`` copied into its globals at import (``_start_new_thread = _thread.
start_new_thread``, ``_allocate_lock``, ``get_ident``, ...); the ``threading`` row of the patch
table replaces exactly those globals with the attributes of the same name below, all taken from
``hub._thread``. The stdlib classes then start greenlets and wait cooperatively, and keep every
attribute they had.

Which globals exist depends on the Python version; a name the running ``threading`` lacks is
skipped by the patcher, so this module can list them all:

======================  =========  ======================================================
global                  versions   what it is for
======================  =========  ======================================================
_start_new_thread       3.10-3.12  Thread.start()
_set_sentinel           3.10-3.12  the lock join() and _shutdown() wait on
_start_joinable_thread  3.13+      Thread.start(), with a handle
_ThreadHandle           3.13+      Thread.join(), is_alive()
_make_thread_handle     3.13+      dummy threads' handles
_thread_shutdown        3.13+      _shutdown(): wait for non-daemon threads at exit
_get_main_thread_ident  3.13+      the _MainThread a fork child makes (hub._thread)
_LockType               3.13+      the type behind threading.Lock
_allocate_lock, Lock    all        Condition's waiter locks, Event, Semaphore, queue.Queue
_CRLock                 all        threading.RLock()
get_ident               all        _active, current_thread()
get_native_id           all        Thread.native_id
local                   all        threading.local
======================  =========  ======================================================

:class:`RealThread` is what ``monkeypatch.get_original("threading", "Thread")`` returns once
threads are patched: a ``threading.Thread`` that runs in a real OS thread.
"""

from __future__ import annotations

import threading as _threading
from typing import Any

from greenlet import getcurrent as _getcurrent

from . import _core
from ._event import Event as _Event
from ._thread import (
    _LOCK_TYPE_CALLABLE,
    LockType,
    RLock,
    _get_main_thread_ident,
    _local,
    _make_thread_handle,
    _set_sentinel,
    _shutdown,
    _ThreadHandle,
    allocate_lock,
    get_ident,
    get_native_id,
    start_joinable_thread_at_once,
    start_new_thread_at_once,
)

_PENDING = _core.PENDING
_TIMEOUT = _core.TIMEOUT
_TIMEOUT_MAX = _threading.TIMEOUT_MAX
_WaitQueue = _core.WaitQueue
_get_ident = _core.get_ident

# Condition, RealThread, and the names the threading row of monkeypatch/_table.py takes from here.
__all__ = [
    "Condition",
    "Event",
    "Lock",
    "RealThread",
    "_CRLock",
    "_LockType",
    "_ThreadHandle",
    "_allocate_lock",
    "_get_main_thread_ident",
    "_make_thread_handle",
    "_set_sentinel",
    "_start_joinable_thread",
    "_start_new_thread",
    "_thread_shutdown",
    "get_ident",
    "get_native_id",
    "local",
]

# Thread.start() is their only caller in threading: it waits for the new thread to start, so
# these run it at once (hub._thread._run_at_once says why and how).
_start_new_thread = start_new_thread_at_once
_start_joinable_thread = start_joinable_thread_at_once
_allocate_lock = allocate_lock
# threading.Lock is _thread.allocate_lock up to 3.12, the lock type itself from 3.13.
Lock = LockType if _LOCK_TYPE_CALLABLE else allocate_lock
_LockType = LockType
local = _local
_CRLock = RLock
_thread_shutdown = _shutdown


def _wait_started(started: Any) -> None:
    """Wait (cooperatively, without polling) for a new OS thread to set ``started``.

    The new thread counts as alive for the hub's "could another thread still wake us" check
    (which turns a wait nobody can end into LoopExit) only once it runs, so a plain wait made
    before that would look like a deadlock. ``keep_alive`` tells the hub that a wake-up is on
    its way: the new thread's ``set()`` hands the wait back through the patched lock, that is
    through this hub's ``run_threadsafe``, and until then the hub sleeps in its poller with no
    timer at all.
    """
    if started.is_set():
        return
    hub = _core.get_hub()
    hub.keep_alive(1)
    try:
        started.wait()
    finally:
        hub.keep_alive(-1)


def _wait_timeout(timeout: float) -> float:
    """A wait's ``timeout`` checked as the stdlib's locks check it: too large raises
    OverflowError, a negative one means "do not wait"."""
    if timeout > _TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return 0.0 if timeout < 0 else timeout


# -- Condition: the stdlib's class, with cooperative wait and notify ----------------------------


class Condition(_threading.Condition):
    """``threading.Condition`` whose ``wait()`` parks the greenlet on the hub.

    ``patch_thread()`` sets ``wait`` and ``notify`` on the stdlib's own class (the
    ``Condition.wait`` and ``Condition.notify`` rows of the patch table), so
    ``threading.Condition`` stays the class programs know, with its attributes: ``_lock``,
    ``acquire``, ``release``, and ``_waiters``, a deque with an entry per waiter
    (``len(cond._waiters)`` still counts them). Everything else (``wait_for``, ``notify_all``,
    the context manager, ``Event``, ``Semaphore``, ``Barrier`` and ``queue.Queue`` on top) is the
    stdlib's code.
    """

    # Why not the stdlib's own wait: it allocates a lock per wait, acquires it twice (the second
    # time to block) and is woken by notify() releasing it, three calls into the Python lock on
    # top of the wait itself. Here a wait is one entry on the core's wait queue (a WaitQueue,
    # which is a deque: the stdlib's _waiters is upgraded to one at the first wait), suspended
    # on the hub and claimed by notify(), as hub.Condition does (callgrind,
    # bench/callgrind_micro.py: see docs/threading.md for the figures).
    #
    # The Condition's own lock guards the queue, as it guards the stdlib's deque: a waiter
    # registers before it releases the lock and leaves after it has taken it back; notify()
    # holds it. A waiter of another OS thread is claimed through its hub (WaitQueue's rule 4). A
    # notification that reaches a waiter whose timeout has fired, or that is unwinding, is
    # spent: the stdlib's semantics (its notify() released that waiter's lock all the same).
    # An entry that is a lock is a wait that began before patching, in the stdlib's code:
    # released, as the stdlib would.

    _waiters: Any  # the stdlib's deque, then a WaitQueue (see above)

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait until notified or ``timeout`` expires, take the lock again.

        True unless the timeout expired; as ``threading.Condition.wait``.
        """
        if not self._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError("cannot wait on un-acquired lock")
        if timeout is not None:
            timeout = _wait_timeout(timeout)
        waiters: Any = self._waiters
        if type(waiters) is not _WaitQueue:
            waiters = self._waiters = _WaitQueue(waiters)
        return _park(self, waiters, timeout, True)

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters, the longest-waiting first; as
        ``threading.Condition.notify``."""
        if not self._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters: Any = self._waiters
        if not waiters:
            return
        if type(waiters) is not _WaitQueue:
            waiters = self._waiters = _WaitQueue(waiters)
        if n > 1 and n >= len(waiters):
            _wake_all(waiters)  # notify_all() (for one waiter the loop below is cheaper)
            return
        ident = _get_ident()
        while n > 0 and waiters:  # (n first: after the common single claim, one test)
            w = waiters.popleft()
            if type(w) is not list:
                try:
                    w.release()  # a stdlib waiter's lock (see the class comment)
                except RuntimeError:
                    pass
                else:
                    n -= 1
                continue
            # WaitQueue.claim_first's common case inlined (a waiter of this thread, still
            # waiting): every wake-up of queue.Queue and threading.Event.
            h = w[2]
            if h.thread_ident == ident:
                if w[1] is _PENDING:  # else its timeout fired first: skip it
                    w[1] = True
                    schedule = h.schedule  # (a local: see Hub.schedule)
                    schedule(w)
                    n -= 1
            elif _WaitQueue((w,)).claim_first(True):  # through its own hub (rule 4)
                n -= 1


def _park(cond: Any, waiters: Any, timeout: float | None, retake: bool) -> bool:
    """The wait of ``Condition.wait`` (``retake``) and ``Event.wait``: True if claimed.

    Called with ``cond``'s lock held and ``waiters`` its WaitQueue: register the current
    greenlet, release the lock, suspend until claimed (or ``timeout``, or an exception thrown
    in), then take the lock back (``retake``; else only to leave the queue, see Event). For the
    patched Lock its uncontended steps are spelled out (the state lock's C calls, with the
    waiters checks that keep hub/_lock.py's hand-over protocol), and without a timeout so are
    Hub.suspend's, as ``sleep(0)`` spells them out: per wait, four Python calls fewer
    (callgrind figures in docs/threading.md).
    """
    lock: Any = cond._lock
    plain = type(lock) is LockType
    g: Any = _getcurrent()  # Any: may carry _hub (get_hub's fast path)
    try:
        h = g._hub
    except AttributeError:
        h = _core.get_hub()
    w = [g, _PENDING, h, None]
    waiters.append(w)
    saved_state = None
    if not plain:
        saved_state = cond._release_save()
    elif lock._waiters:
        lock.release()  # hands the lock over
    else:
        lock._lock.release()  # Lock.__exit__'s fast path: nobody waits for it
        if lock._waiters:
            lock._take_back()
    value = _TIMEOUT
    try:
        if timeout is not None or g is h:
            value = h.suspend(w, timeout)  # (in the hub: its BlockingSwitchOutError)
        else:
            try:
                h.switch()
            finally:
                w[0] = None
            value = w[1]
            if value is _PENDING:
                raise _core.InvalidSwitchError(
                    f"{g!r} was resumed by a direct switch while it waited in the hub"
                )
    finally:
        if retake or value is not True:
            if not plain:
                cond._acquire_restore(saved_state)
            elif not lock._lock.acquire(False):
                lock.acquire()
            if value is not True:
                waiters.abandon(None, w)  # leaves the queue unless a claim took it out
            if not retake:
                lock.release()
    return value is True


def _wake_all(waiters: Any) -> None:
    """Claim every entry of a Condition's ``_waiters`` (its lock held) and empty it.

    ``notify_all()``'s work, one pass over the queue: the entries of this thread's hub are
    claimed and scheduled here (the hub and its ``schedule`` looked up once, not per waiter:
    100 waiters per ``Event.set()`` in bench/micro.py's thread_event), the others through their
    own hub (WaitQueue's rule 4), a stdlib waiter's lock is released (see Condition).
    """
    ident = _get_ident()
    local: Any = None
    schedule: Any = None
    for w in waiters:
        if type(w) is list:
            h = w[2]
            if h is not local:
                if h.thread_ident != ident:
                    _WaitQueue((w,)).claim_first(True)
                    continue
                local = h
                schedule = h.schedule
            if w[1] is _PENDING:  # else its timeout fired first: skip it
                w[1] = True
                schedule(w)
        else:
            try:
                w.release()
            except RuntimeError:
                pass
    waiters.clear()


class Event(_threading.Event):
    """``threading.Event`` whose waiters park on its Condition's wait queue directly.

    ``patch_thread()`` sets ``wait`` and ``set`` on the stdlib's own class (``Event.wait`` and
    ``Event.set`` in the patch table): ``threading.Event`` stays the class programs know, with
    its ``_cond`` and ``_flag``, and every Thread's ``_started``. They do what the stdlib's do,
    with the Condition's steps spelled out (callgrind figures in docs/threading.md).
    """

    # A wait is an entry on ``_cond._waiters``, registered under the Condition's lock, as
    # Condition.wait registers one, so ``_cond.notify_all()`` (or set() of another thread) wakes
    # it like any Condition waiter. What it saves against ``with cond: cond.wait()``: the lock
    # is not taken back after the wake-up only to be released (the claim's value says it all:
    # set() claims every waiter with True, under the lock), and the release before the switch
    # is one call, not Condition's _release_save. A wait that ends otherwise (timeout, kill)
    # leaves the queue under the lock; one interrupted while taking the lock back leaves a dead
    # entry (its greenlet slot is None, the core skips it), which the next set() drops.

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set, or ``timeout`` expires; the flag then (as the stdlib)."""
        if self._flag:
            return True  # set stays set until clear(): no lock needed to see it
        cond: Any = self._cond  # type: ignore[attr-defined]
        lock = cond._lock
        # The patched Lock's uncontended acquire spelled out (its state lock's C call; the
        # release, with the waiters check that keeps the hand-over protocol, is _park's).
        plain = type(lock) is LockType
        if not plain or not lock._lock.acquire(False):
            lock.acquire()
        if self._flag:
            lock.release()
            return True
        if timeout is not None:
            try:
                timeout = _wait_timeout(timeout)
            except BaseException:  # OverflowError, or TypeError for a timeout that is no number
                lock.release()
                raise
        waiters: Any = cond._waiters
        if type(waiters) is not _WaitQueue:
            waiters = cond._waiters = _WaitQueue(waiters)
        return _park(cond, waiters, timeout, False)

    def set(self) -> None:
        """Set the flag and wake every waiter (as the stdlib)."""
        cond: Any = self._cond  # type: ignore[attr-defined]
        lock = cond._lock
        lock.acquire()
        try:
            self._flag = True
            waiters = cond._waiters
            if waiters:
                _wake_all(waiters)
        finally:
            lock.release()


class RealThread(_threading.Thread):
    """A ``threading.Thread`` that runs in a real OS thread, even after ``patch_thread()``.

    For CPU-bound work in C code that releases the GIL, and for C libraries that block the OS
    thread: things a greenlet cannot make cooperative. Everything else about it is
    ``threading.Thread``'s; ``join()`` waits cooperatively (the calling greenlet's siblings go
    on running). Inside the thread, patched calls (``time.sleep``, sockets, locks) wait on that
    thread's own hub.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._real_finished = _Event()
        if _core.RealThreadHandle is not None:
            # 3.13+: only the C code can complete a C handle, and only for a C thread.
            self._handle = _core.RealThreadHandle()

    def start(self) -> None:
        """Start the thread's activity in a new OS thread (at most once)."""
        if not self._initialized:  # type: ignore[attr-defined]
            raise RuntimeError("thread.__init__() not called")
        if self._started.is_set():  # type: ignore[attr-defined]
            raise RuntimeError("threads can only be started once")
        limbo_lock: Any = _threading._active_limbo_lock  # type: ignore[attr-defined]
        limbo: Any = _threading._limbo  # type: ignore[attr-defined]
        with limbo_lock:
            limbo[self] = self
        try:
            if _core.start_joinable_thread is not None:
                _core.start_joinable_thread(
                    self._bootstrap,  # type: ignore[attr-defined]
                    handle=self._handle,
                    daemon=self.daemon,
                )
            else:
                _core.start_new_thread(self._bootstrap, ())  # type: ignore[attr-defined]
        except Exception:
            with limbo_lock:
                del limbo[self]
            raise
        _wait_started(self._started)  # type: ignore[attr-defined]

    def _set_tstate_lock(self) -> None:
        # 3.10-3.12 only (3.13 has no such method): the C sentinel, which the C code releases
        # when this OS thread is gone; the patched one would never be released.
        lock = self._tstate_lock = _core.set_sentinel()
        lock.acquire()
        if not self.daemon:
            with _threading._shutdown_locks_lock:  # type: ignore[attr-defined]
                _threading._maintain_shutdown_locks()  # type: ignore[attr-defined]
                _threading._shutdown_locks.add(lock)  # type: ignore[attr-defined]

    def _bootstrap_inner(self) -> None:
        try:
            super()._bootstrap_inner()  # type: ignore[misc]
        finally:
            self._real_finished.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait (cooperatively) until the thread ends, at most ``timeout`` seconds."""
        if not self._initialized:  # type: ignore[attr-defined]
            raise RuntimeError("Thread.__init__() not called")
        if not self._started.is_set():  # type: ignore[attr-defined]
            raise RuntimeError("cannot join thread before it is started")
        if self is _threading.current_thread():
            raise RuntimeError("cannot join current thread")
        if not self._real_finished.wait(None if timeout is None else max(timeout, 0)):
            return
        # It has left Python code; the C side is done in a moment (this wait is that short).
        super().join(timeout)
