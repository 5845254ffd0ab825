"""Run blocking calls in real OS threads, and wait for their results from a greenlet.

Some calls cannot be made cooperative: the C resolver behind ``getaddrinfo``, a C extension's
blocking function, a filesystem that hangs. :class:`ThreadPool` runs them in a bounded set of
worker threads while the hub keeps serving every other greenlet; the result comes back through
the hub's cross-thread wake-up (``Hub.run_threadsafe``). Each hub has one pool of its own,
``get_hub().threadpool``, created on first use.

While a job is in flight the hub does not declare a deadlock (``LoopExit``): the job will wake
it. Idle workers, on the other hand, never keep a deadlocked hub waiting.
"""

from __future__ import annotations

import concurrent.futures
import weakref
from collections.abc import Callable
from queue import Empty as _Empty
from typing import Any, Generic, TypeVar

from ._core import (
    TIMEOUT,
    Hub,
    WaitQueue,
    allocate_lock,
    count_helper_thread,
    get_hub,
    get_hub_if_exists,
    register_at_fork,
    set_threadpool_factory,
    start_new_thread,
)
from ._core import RealSimpleQueue as SimpleQueue
from ._event import Event
from ._timeout import Timeout

__all__ = ["ThreadPool", "ThreadPoolExecutor", "ThreadResult"]

_T = TypeVar("_T")
_NOT_DONE: Any = object()
_STOP: Any = object()
_LOST_IN_FORK = (
    "the process forked while this thread-pool job was pending; the child has no worker "
    "threads, so its outcome is unknown here"
)
_pools: weakref.WeakSet[ThreadPool] = weakref.WeakSet()
# A worker counts itself as a helper thread: a hub tells idle pool workers from threads that
# might wake it by that count.
_count_pool_thread = count_helper_thread


class ThreadResult(Generic[_T]):
    """The eventual result of a job submitted to a :class:`ThreadPool`; wait on it with ``get``.

    Only greenlets of the pool's hub thread may wait on it. It supports ``rawlink``/``unlink``, so
    ``hub.wait()`` and ``hub.iwait()`` accept it.
    """

    __slots__ = ("_exception", "_hub", "_links", "_waiters", "value")

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self.value: _T | None = None
        self._exception: Any = _NOT_DONE
        self._waiters = WaitQueue()
        self._links: list[Callable[[Any], Any]] = []

    def ready(self) -> bool:
        """True once the job returned or raised."""
        return self._exception is not _NOT_DONE

    def successful(self) -> bool:
        """True if the job returned without raising."""
        return self._exception is None

    @property
    def exception(self) -> BaseException | None:
        """What the job raised, or None."""
        exc = self._exception
        return None if exc is _NOT_DONE else exc

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """The job's return value (re-raising its exception), waiting for it if needed.

        Raises ``hub.Timeout`` when it is not ready after ``timeout`` (at once if not ``block``).
        """
        if self._exception is _NOT_DONE and (not block or not self.wait(timeout)):
            raise Timeout(timeout)
        if self._exception is not None:
            raise self._exception
        return self.value  # type: ignore[return-value]

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until ready; True if it is, False if ``timeout`` expired first."""
        if self._exception is not _NOT_DONE:
            return True
        return self._waiters.park(None, timeout) is not TIMEOUT

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` in the hub once ready (at once if it is)."""
        if self._exception is not _NOT_DONE:
            self._hub.run_callback(callback, self)
        else:
            self._links.append(callback)

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Remove a callback added with :meth:`rawlink`."""
        self._links = [c for c in self._links if c != callback]

    def _deliver(self, value: Any, exc: BaseException | None) -> None:
        # Runs in the hub (queued by run_threadsafe from the worker thread). A second delivery
        # (the failure a forked child queues for a job whose real outcome was also queued) is
        # ignored.
        if self._exception is not _NOT_DONE:
            return
        self.value = value
        self._exception = exc
        self._hub.keep_alive(-1)
        # The links first, then the waiters: a link made before a wait has run when it returns.
        links, self._links = self._links, []
        for callback in links:
            self._hub.run_callback(callback, self)
        if self._waiters:
            self._waiters.claim_all(None)

    def __repr__(self) -> str:
        if self._exception is _NOT_DONE:
            state = "pending"
        elif self._exception is None:
            state = f"value={self.value!r}"
        else:
            state = f"exception={self._exception!r}"
        return f"<ThreadResult at {id(self):#x} {state}>"


class ThreadPool:
    """At most ``maxsize`` worker threads running blocking calls for one hub's greenlets.

    Workers start on demand and exit after ``idle_timeout`` seconds without a job (None: never),
    so a program that resolved a name once does not keep a thread for the rest of its life (code
    that waits for its threads to end, as CPython's tests do, sees them go). Starting a thread
    costs tens of microseconds, little beside the blocking call it runs. Jobs beyond ``maxsize``
    wait in order. ``spawn`` returns at once; ``apply`` blocks the calling greenlet (not the
    thread).
    """

    def __init__(
        self, maxsize: int = 10, hub: Hub | None = None, idle_timeout: float | None = 0.25
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        self.maxsize = maxsize
        self.idle_timeout = idle_timeout
        self.hub = hub if hub is not None else get_hub()
        self._jobs: SimpleQueue[Any] = SimpleQueue()
        self._lock = allocate_lock()
        self._workers = 0
        self._unfinished = 0  # jobs submitted and not yet done
        # Their results, so that a child process can fail them (see _reset_after_fork).
        self._pending: set[ThreadResult[Any]] = set()
        _pools.add(self)

    @property
    def size(self) -> int:
        """Worker threads started so far."""
        return self._workers

    def spawn(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> ThreadResult[_T]:
        """Run ``fn(*args, **kwargs)`` in a worker thread; returns its :class:`ThreadResult`."""
        hub = self.hub
        result: ThreadResult[_T] = ThreadResult(hub)
        hub.keep_alive(+1)
        with self._lock:
            self._unfinished += 1
            self._pending.add(result)
            start_worker = self._unfinished > self._workers and self._workers < self.maxsize
            if start_worker:
                self._workers += 1
        self._jobs.put((fn, args, kwargs, result))
        if start_worker:
            try:
                start_new_thread(self._worker, ())
            except BaseException:
                with self._lock:
                    self._workers -= 1
                raise
        return result

    def apply(
        self,
        fn: Callable[..., _T],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> _T:
        """Run ``fn(*args, **kwargs)`` in a worker thread; the calling greenlet waits for it."""
        return self.spawn(fn, *args, **(kwargs or {})).get()

    def _worker(self) -> None:
        # Counted from inside the thread: a hub deciding whether another thread could still
        # wake it compares this count with the threads alive, and this one is alive only now.
        _count_pool_thread(+1)
        jobs = self._jobs
        idle_timeout = self.idle_timeout
        try:
            while True:
                try:
                    job = jobs.get(timeout=idle_timeout)
                except _Empty:
                    # Leave only if the workers that stay can take every unfinished job: spawn()
                    # counted this worker when it decided not to start another one.
                    with self._lock:
                        if self._unfinished <= self._workers - 1:
                            self._workers -= 1
                            _count_pool_thread(-1)
                            return
                    continue
                if job is _STOP:
                    with self._lock:
                        self._workers -= 1
                    _count_pool_thread(-1)
                    return
                fn, args, kwargs, result = job
                job = None
                try:
                    value = fn(*args, **kwargs)
                except BaseException as exc:
                    outcome: tuple[Any, BaseException | None] = (None, exc)
                else:
                    outcome = (value, None)
                fn = args = kwargs = None
                with self._lock:
                    self._unfinished -= 1
                result._hub.run_threadsafe(result._deliver, *outcome)
                # Only now: a fork in between leaves the child both the queued delivery and
                # the pending entry, never neither (see _reset_after_fork).
                self._pending.discard(result)
                outcome = result = None  # type: ignore[assignment]
        except BaseException:
            with self._lock:
                self._workers -= 1
            _count_pool_thread(-1)
            raise

    def _reset_after_fork(self) -> None:
        # The child has none of the parent's threads, so the jobs they were running or would
        # have run never finish here. Running them again could repeat their effects (the parent
        # still runs them), so their results fail instead, which also releases the hub's
        # keepalive: a greenlet waiting on one gets an error, not a hang or a false LoopExit.
        pending, self._pending = self._pending, set()
        self._jobs = SimpleQueue()
        self._lock = allocate_lock()
        self._workers = self._unfinished = 0
        if self.hub is not get_hub_if_exists():
            return  # the hub of a thread that does not exist in the child
        for result in pending:
            # Queued behind any delivery a worker made just before the fork, which wins.
            self.hub.run_threadsafe(result._deliver, None, RuntimeError(_LOST_IN_FORK))

    def __repr__(self) -> str:
        return f"<ThreadPool at {id(self):#x} maxsize={self.maxsize} workers={self._workers}>"


class _CooperativeFuture(concurrent.futures.Future[_T]):
    """A ``concurrent.futures.Future`` whose ``result()`` and ``exception()`` wait on the hub.

    The stdlib's Future waits on a ``threading.Condition``: unless ``threading`` is patched, a
    greenlet calling ``result()`` would block its whole thread, hub included, until the worker
    is done. This one waits on a hub :class:`Event` instead, set by a done-callback from
    whichever thread completes the future, so only the calling greenlet waits (and waiting from
    a plain OS thread works too: it runs that thread's hub). It also supports ``rawlink`` and
    ``unlink``, so ``hub.wait()`` and ``hub.iwait()`` accept it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._done_event = Event()
        self._link_wrappers: dict[Any, Callable[[Any], Any]] = {}
        self.add_done_callback(_set_done_event)

    def _wait_done(self, timeout: float | None) -> None:
        if not self.done():
            self._done_event.wait(timeout)

    def result(self, timeout: float | None = None) -> _T:
        """The call's return value, waiting cooperatively; see ``concurrent.futures.Future``.

        Raises ``concurrent.futures.TimeoutError`` after ``timeout``, ``CancelledError`` if the
        future was cancelled, and the call's exception if it raised.
        """
        self._wait_done(timeout)
        return super().result(timeout=0)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """What the call raised (None if it returned), waiting cooperatively."""
        self._wait_done(timeout)
        return super().exception(timeout=0)

    def rawlink(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` in the hub once the future is done (for ``hub.iwait``)."""
        wrapper = self._link_wrappers[callback] = _LinkTo(self, callback)
        self._done_event.rawlink(wrapper)

    def unlink(self, callback: Callable[[Any], Any]) -> None:
        """Remove a callback added with :meth:`rawlink`."""
        wrapper = self._link_wrappers.pop(callback, None)
        if wrapper is not None:
            self._done_event.unlink(wrapper)


class _LinkTo:
    """An Event link that calls ``callback(future)`` rather than ``callback(event)``."""

    __slots__ = ("callback", "future")

    def __init__(self, future: Any, callback: Callable[[Any], Any]) -> None:
        self.future = future
        self.callback = callback

    def __call__(self, _event: Any) -> None:
        self.callback(self.future)


def _set_done_event(future: Any) -> None:
    # A done-callback: runs in the thread that completed (or cancelled) the future; Event.set()
    # wakes waiters of any thread through their own hubs.
    future._done_event.set()


def _run_job(
    future: concurrent.futures.Future[Any], fn: Callable[..., Any], args: Any, kwargs: Any
) -> None:
    # In a worker thread. A future cancelled while queued is skipped, as the stdlib does.
    if not future.set_running_or_notify_cancel():
        return
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(value)


class ThreadPoolExecutor(concurrent.futures.Executor):
    """A ``concurrent.futures.Executor`` running calls in real OS threads for one hub.

    ``submit(fn, *args, **kwargs)`` returns a ``concurrent.futures.Future`` (a subclass) whose
    ``result()`` and ``exception()`` suspend only the calling greenlet; ``map`` and the context
    manager work as in the stdlib. Calls run in a :class:`ThreadPool` of at most
    ``max_workers`` threads, of the hub of the thread that created the executor, and only that
    thread may submit. While a call is in flight the hub does not declare a deadlock.

    ``concurrent.futures.wait()`` and ``as_completed()`` accept these futures, but they wait on
    a ``threading`` primitive of their own: with ``threading`` patched (``patch_all()``) that
    wait is cooperative; without, it blocks the calling thread, hub included, until the futures
    are done (it still returns: the calls run in other threads). Unpatched, prefer
    ``hub.wait(futures)`` / ``hub.iwait(futures)``, or ``future.result()`` in turn.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        if max_workers is None:
            import os

            max_workers = min(32, (os.cpu_count() or 1) + 4)  # the stdlib's default
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._max_workers = max_workers
        self._pool = ThreadPool(max_workers)
        self._initializer = initializer
        self._initargs = initargs
        self._initialized: set[int] = set()
        self._futures: set[_CooperativeFuture[Any]] = set()
        self._shutdown = False

    def submit(
        self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` in a worker thread; returns its Future."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        if get_hub_if_exists() is not self._pool.hub:
            raise RuntimeError(
                "submit() from the thread that created the ThreadPoolExecutor (its hub's thread)"
            )
        future: _CooperativeFuture[_T] = _CooperativeFuture()
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        if self._initializer is not None:
            self._pool.spawn(self._call_initialized, future, fn, args, kwargs)
        else:
            self._pool.spawn(_run_job, future, fn, args, kwargs)
        return future

    def _call_initialized(
        self, future: Any, fn: Callable[..., Any], args: Any, kwargs: Any
    ) -> None:
        # The stdlib runs the initializer once per worker thread; so do we, before its first job.
        from ._core import get_ident

        ident = get_ident()
        initializer = self._initializer
        if initializer is not None and ident not in self._initialized:
            self._initialized.add(ident)
            try:
                initializer(*self._initargs)
            except BaseException as exc:
                self._initialized.discard(ident)
                if future.set_running_or_notify_cancel():
                    future.set_exception(
                        concurrent.futures.BrokenExecutor(f"initializer failed: {exc!r}")
                    )
                return
        _run_job(future, fn, args, kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new calls from now on; ``cancel_futures`` cancels those not started yet; ``wait``
        waits (cooperatively) until the others are done. Idle workers exit by themselves."""
        self._shutdown = True
        pending = list(self._futures)
        if cancel_futures:
            for future in pending:
                future.cancel()
        if wait:
            for future in pending:
                future._wait_done(None)

    def __repr__(self) -> str:
        return (
            f"<ThreadPoolExecutor at {id(self):#x} max_workers={self._max_workers} "
            f"pending={len(self._futures)}>"
        )


def _after_fork_in_child() -> None:
    for pool in list(_pools):
        pool._reset_after_fork()


def _make_pool(hub: Hub) -> ThreadPool:
    return ThreadPool(hub=hub)


set_threadpool_factory(_make_pool)
if register_at_fork is not None:
    register_at_fork(after_in_child=_after_fork_in_child)
