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
    start_joinable_thread,
    start_new_thread,
)

# RealThread, and the names the threading row of monkeypatch/_table.py takes from here.
__all__ = [
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

_start_new_thread = start_new_thread
_start_joinable_thread = start_joinable_thread
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
