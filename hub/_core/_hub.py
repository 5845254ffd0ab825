"""The hub: one greenlet per OS thread that runs every wake-up.

The switching rule
==================

A greenlet that has to wait does three things, always in this order:

1. it creates a waiter entry and *registers* it where the wake-up will come from (an fd's reader
   slot, a timer, an Event's waiter list, ...);
2. it switches to the hub (``Hub.suspend``; ``sleep(0)`` inlines the same steps);
3. when it is resumed, by the event, a timeout or an exception thrown in (``kill``), it removes its
   registrations in a ``finally`` block.

Only the hub resumes waiting greenlets, and only in one place: the loop in ``Hub._run_loop``
popping the ready queue. Everything else (IO readiness, expired timers, ``Event.set()``,
``kill()``, other threads) merely *queues* an entry (see ``_waiter``). So a greenlet never runs
inside another one's call stack, and a wake-up that arrives after its wait ended finds a waiter
whose greenlet slot is None and is dropped.

One turn of the loop:

- run up to ``_BATCH`` ready entries, including ones queued meanwhile (two greenlets handing work
  back and forth should not cost an epoll_wait per hand-over, yet IO must not starve);
- move expired timers' entries to the ready queue;
- poll IO: without blocking if anything is ready, until the next timer otherwise; queue the
  waiters of every fd that became ready;
- if there is nothing at all that could ever wake anybody, throw ``LoopExit`` into the thread's
  main greenlet instead of blocking forever.

Errors: an exception escaping a callback or a raw greenlet whose parent is the hub is printed
and the loop goes on; KeyboardInterrupt and SystemExit are thrown into the thread's main
greenlet, so Ctrl-C stops a script where its user expects.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections import deque
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import Any

from greenlet import GreenletExit, getcurrent, greenlet

from . import (
    _exit,  # noqa: F401  (its atexit callback parks daemon threads' hubs)
    _originals,
    _registry,
)
from ._crossthread import CrossThread
from ._errors import BlockingSwitchOutError, InvalidSwitchError, LoopExit
from ._fdwaits import FdWaits
from ._fork import ForkReinit, exit_child
from ._io import FdState, make_poller
from ._stats import HubStatistics
from ._timers import Timer
from ._waiter import PENDING, TIMEOUT, Callback, Throw
from ._wakeup import Wakeup

__all__ = [
    "Hub",
    "HubStatistics",
    "count_helper_thread",
    "get_hub",
    "get_hub_if_exists",
    "hub_of",
    "reinit",
    "set_hub",
    "set_threadpool_factory",
]

# Ready entries run per loop turn before IO is polled again.
_BATCH = 1000
_BATCH_RANGE = range(_BATCH)
# How long a hub with nothing to do sleeps between checks while other threads might wake it.
_THREAD_RECHECK = 0.5
_SYSTEM_ERRORS = (KeyboardInterrupt, SystemExit)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_tls = _originals.RealThreadLocal()

# Live helper threads (thread-pool workers): they never wake a hub unasked, so they do not
# count as "another thread that might" (see Hub._other_threads). Guarded by _helpers_lock.
_helper_threads = [0]
_helpers_lock = _originals.allocate_lock()
# Makes a hub's thread pool; set by the layer that defines it (hub.threadpool, at import).
_threadpool_factory: list[Callable[[Hub], Any] | None] = [None]


def count_helper_thread(delta: int) -> None:
    """A helper thread of the runtime started (+1) or is ending (-1); call it from that thread.

    Helper threads (thread-pool workers) wake a hub only through work it handed them, which
    ``Hub.keep_alive`` counts; so they must not stop a hub from declaring a deadlock.
    """
    with _helpers_lock:
        _helper_threads[0] += delta


def set_threadpool_factory(factory: Callable[[Hub], Any]) -> None:
    """Tell the core how ``Hub.threadpool`` makes a pool: ``factory(hub)``.

    The pool is an upper layer (``hub.threadpool`` registers itself when imported): the core
    never imports upwards.
    """
    _threadpool_factory[0] = factory


class Hub(greenlet, FdWaits, CrossThread, ForkReinit):
    """The event loop of one OS thread, itself a greenlet. Use :func:`get_hub` to obtain it.

    ``clock`` is a zero-argument callable returning seconds (default ``time.monotonic``); a clock
    with a ``jump(seconds)`` method is *virtual*: instead of sleeping until the next timer the hub
    jumps it forward (see ``hub.testing.VirtualClock``).

    The fd waits, cross-thread calls and fork handling are mixins (``_fdwaits``,
    ``_crossthread``, ``_fork``), after ``greenlet`` in the bases: with them first, every sleep(0)
    cost 2% more instructions (callgrind, bench/callgrind_micro.py sleep0: 7,561 against 7,394).
    """

    # The attributes the hot paths read (every wait, wake-up and timer). A greenlet subclass's
    # instance dict is not one Python 3.11 specialises attribute loads for: each read of an
    # attribute kept there is a generic lookup, a slot read is not (about 250 instructions less
    # per sleep(0), 1.1k less per echo round trip, by callgrind). The rest stay in the dict.
    __slots__ = (
        "_cancelled_timers",
        "_level_triggered",
        "_ready",
        "_timer_seq",
        "_timers",
        "clock",
        "loop_turns",
        "schedule",
        "switches",
    )

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        root = getcurrent()
        while root.parent is not None:
            root = root.parent
        super().__init__(parent=root)
        self._hub = self  # see get_hub()
        self.thread_ident = _originals.get_ident()
        self.clock: Callable[[], float] = clock or _originals.monotonic
        self._jump = getattr(self.clock, "jump", None)
        self._ready: deque[Any] = deque()
        #: ``schedule(entry)``: queue a ready entry (a claimed waiter, a Callback, a started
        #: Greenlet) to be switched to soon; this thread only. It is the ready queue's own
        #: ``append``, so scheduling costs one C call (see ``_waiter`` for the entries). Hot
        #: paths read it into a local first: Python 3.11 specialises ``x = hub.schedule`` (a
        #: slot) but not ``hub.schedule(e)``, a method call on an attribute holding a callable.
        self.schedule: Callable[[Any], None] = self._ready.append
        self._idle: deque[list[Any]] = deque()
        self._timers: list[tuple[float, int, Timer]] = []
        self._timer_seq = 0
        self._cancelled_timers = 0
        self._fds: dict[int, FdState] = {}
        self._threadsafe: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._wake_pending = False
        # Outstanding reasons to keep waiting that the hub cannot see (thread-pool jobs in
        # flight): while positive, an idle hub blocks instead of raising LoopExit (keep_alive).
        self._keepalive = 0
        self._joiners: list[list[Any]] = []
        self._destroyed = False
        #: Bumped just before the loop polls IO and again right after (see _poll_and_dispatch):
        #: odd exactly while the hub waits in the poller. hub.monitor samples it from another
        #: thread: a value that stays even for long means something runs without switching back.
        self.loop_turns = 0
        #: Ready entries the loop has run (greenlets resumed and callbacks called), counted per
        #: batch, not per switch.
        self.switches = 0
        self._setup_io()

    def _setup_io(self) -> None:
        self._poller = make_poller()
        self._level_triggered = self._poller.level_triggered
        self._wakeup = Wakeup()
        st = self._wakeup_st = FdState(self, self._wakeup.read_fd)
        self._fds[st.fd] = st
        self._poller.add(st.fd)
        self._wakeup_entry = Callback(self._on_wakeup, ())
        st.reader = self._wakeup_entry
        if self._level_triggered:
            self._poller.update(st)

    @property
    def threadpool(self) -> Any:
        """This hub's :class:`hub.threadpool.ThreadPool`, created on first use."""
        pool = self.__dict__.get("_threadpool")
        if pool is None:
            factory = _threadpool_factory[0]
            if factory is None:
                raise RuntimeError("no thread pool: import hub (hub.threadpool registers it)")
            pool = self._threadpool = factory(self)
        return pool

    def statistics(self) -> HubStatistics:
        """A snapshot of this hub's load: ready entries, pending timers, fds, switches, ...

        Cheap enough to call now and then (it walks the timer heap and the fd table), not in a
        hot loop. Call it from the hub's own thread. For users, tests (instead of private state)
        and ``hub.util``; see :class:`HubStatistics`.
        """
        wakeup_st = self._wakeup_st
        awaited = sum(
            1
            for st in self._fds.values()
            if st is not wakeup_st and (st.reader is not None or st.writer is not None)
        )
        return HubStatistics(
            ready=len(self._ready),
            pending_timers=tuple(e[2] for e in sorted(self._timers) if e[2].active),
            fds=tuple(sorted(fd for fd in self._fds if fd != wakeup_st.fd)),
            switches=self.switches,
            loop_turns=self.loop_turns,
            fds_awaited=awaited,
            keepalive=self._keepalive,
            threadsafe_calls=len(self._threadsafe),
            timer_heap=len(self._timers),
            poller="selectors" if self._level_triggered else "epoll",
        )

    def __repr__(self) -> str:
        return (
            f"<Hub at {id(self):#x} thread={self.thread_ident} ready={len(self._ready)} "
            f"timers={len(self._timers) - self._cancelled_timers} fds={len(self._fds) - 1}>"
        )

    # -- scheduling (callable from any greenlet of this thread) ---------------------------------

    def keep_alive(self, delta: int) -> None:
        """Count ``delta`` more (or, negative, fewer) pending wake-ups the hub cannot see.

        A helper thread's job in flight will wake the hub through ``run_threadsafe`` when it
        ends; while such jobs are counted, a hub with nothing else to do waits for them instead
        of raising LoopExit. Each +1 must be matched by a -1, in this hub's thread.
        """
        self._keepalive += delta

    @property
    def destroyed(self) -> bool:
        """True once :meth:`destroy` ran: the hub runs nothing any more."""
        return self._destroyed

    def run_callback(self, fn: Callable[..., Any], *args: Any) -> Callback:
        """Run ``fn(*args)`` in the hub soon, after what is ready now; returns a cancellable
        handle."""
        cb = Callback(fn, args)
        cb[1] = None
        self._ready.append(cb)
        return cb

    def call_later(self, seconds: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` in the hub after ``seconds``. Returns a Timer; ``cancel()`` it."""
        return self.timer(seconds, Callback(fn, args), None)

    def timer(self, seconds: float, entry: Any, value: Any, ref: bool = True) -> Timer:
        """Wake ``entry`` (a waiter or Callback) with ``value`` after ``seconds``."""
        when = self.clock() + seconds
        t = Timer(self, when, entry, value, ref)
        self._timer_seq += 1
        heappush(self._timers, (when, self._timer_seq, t))
        return t

    def _compact_timers(self) -> None:
        timers = self._timers
        timers[:] = [e for e in timers if e[2].active]
        heapify(timers)
        self._cancelled_timers = 0

    # -- waiting (from the greenlet that waits) ------------------------------------------------

    def suspend(self, w: list[Any], timeout: float | None = None, ref: bool = True) -> Any:
        """Switch to the hub until ``w`` is woken; return its value (``TIMEOUT`` if timed out).

        ``w`` must already be registered wherever its wake-up will come from; the caller removes
        that registration in its own ``finally``. This is the one way greenlets wait (only
        ``sleep(0)`` and ``hub.socket``'s blocking recv spell out the same steps, for speed).
        ``ref=False``: the timeout alone does not keep a deadlocked hub waiting (see ``join``).
        """
        if w[0] is self:
            raise BlockingSwitchOutError(
                "cannot block in the hub: a callback or raw link called a blocking function"
            )
        timer = None if timeout is None else self.timer(timeout, w, TIMEOUT, ref)
        try:
            self.switch()
        finally:
            w[0] = None
            if timer is not None and timer.active:
                timer.cancel()
        value = w[1]
        if value is PENDING:
            raise InvalidSwitchError(
                f"{getcurrent()!r} was resumed by a direct switch while it waited in the hub"
            )
        return value

    def idle_wait(self) -> None:
        """Wait until the hub has nothing else to do (see ``hub.idle``)."""
        w = [getcurrent(), PENDING]
        self._idle.append(w)
        try:
            self.suspend(w)
        finally:
            if w[1] is PENDING:
                try:
                    self._idle.remove(w)
                except ValueError:
                    pass

    def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is left to run, wait for or time (``hub.wait()`` with no objects).

        True when the hub ran out of work, False if ``timeout`` expired first.
        """
        w = [getcurrent(), PENDING]
        self._joiners.append(w)
        try:
            value = self.suspend(w, timeout, False)
        finally:
            for i, x in enumerate(self._joiners):
                if x is w:
                    del self._joiners[i]
                    break
        return value is not TIMEOUT

    # -- errors -------------------------------------------------------------------------------

    def handle_error(self, context: Any, exc: BaseException) -> None:
        """Report an exception that nobody can catch: print it, or stop the main greenlet.

        KeyboardInterrupt and SystemExit are thrown into the thread's main greenlet (from the
        hub); anything else is printed to stderr with ``context`` and the loop goes on.
        """
        if isinstance(exc, _SYSTEM_ERRORS):
            main = self._main_greenlet()
            assert main is not None  # a hub's parent is its thread's root greenlet
            if main.dead:
                _exit_without_threads(exc)
            if getcurrent() is self:
                main.throw(exc)
            else:
                self._ready.append(Throw(main, exc))
            return
        self.print_exception(context, exc)

    def print_exception(self, context: Any, exc: BaseException) -> None:
        """Print ``exc`` with its traceback and what it happened in."""
        stream = sys.stderr
        try:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=stream)
            if context is not None:
                try:
                    what = repr(context)
                except Exception:
                    what = object.__repr__(context)
                stream.write(f"{what} failed with {type(exc).__name__}\n\n")
            stream.flush()
        except Exception:
            pass  # no stderr (closed, or a daemon at shutdown): nothing better to do

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> None:
        """The hub greenlet's body; never call it directly."""
        try:
            self._run_loop()
        except GreenletExit:
            pass  # destroy()
        if self._main_greenlet() is not self.parent:
            # Returning would resume the parent, a main greenlet abandoned at a fork (_fork).
            exit_child(0)

    def _run_loop(self) -> None:
        ready = self._ready
        timers = self._timers
        fds = self._fds
        idle = self._idle
        read_events = self._poller.READ_EVENTS
        write_events = self._poller.WRITE_EVENTS
        timeout: float | None
        while not self._destroyed:
            try:
                # 1. Ready entries.
                if ready:
                    self._run_ready(ready)

                # 2. Expired timers join the ready queue.
                if timers:
                    now = self.clock()
                    while timers:
                        entry = timers[0]
                        t = entry[2]
                        if not t.active:
                            heappop(timers)
                            self._cancelled_timers -= 1
                        elif entry[0] <= now:
                            heappop(timers)
                            t.active = False
                            e = t.entry
                            if e[1] is PENDING:
                                e[1] = t.value
                                ready.append(e)
                        else:
                            break

                # 3. IO. Block only when nothing is ready.
                if ready or idle:
                    timeout = 0.0
                else:
                    if timers and not self._joiners:
                        timeout = timers[0][0] - self.clock()
                        if timeout < 0:
                            timeout = 0.0
                    else:
                        timeout = self._idle_timeout()
                        if timeout is None:
                            continue  # LoopExit was delivered, or the joiners were woken
                    if timeout > 0 and self._jump is not None and timers:
                        # Virtual clock: time passes only when there is nothing else to do.
                        if not self._poll_and_dispatch(0.0, fds, read_events, write_events):
                            self._jump(timers[0][0] - self.clock())
                        continue
                self._poll_and_dispatch(timeout, fds, read_events, write_events)
                if idle and not ready:
                    for iw in idle:
                        iw[1] = None
                    ready.extend(idle)
                    idle.clear()
            except GreenletExit:
                raise
            except BaseException as exc:
                # Not from a greenlet or callback (those are caught below): a signal handler
                # raised while the hub polled. It belongs to the thread's main greenlet.
                main = self._main_greenlet()
                assert main is not None  # a hub's parent is its thread's root greenlet
                if main.dead:
                    _exit_without_threads(exc)
                main.throw(exc)

    def _run_ready(self, ready: deque[Any]) -> None:
        """Run up to ``_BATCH`` ready entries: the only place waiting greenlets are resumed."""
        popleft = ready.popleft
        w: Any = None
        n = 0
        try:
            for n in _BATCH_RANGE:  # noqa: B007 (the count is read in finally)
                if not ready:
                    return
                w = popleft()
                g = w[0]
                if g is not None:
                    g.switch()
            n = _BATCH
        except GreenletExit:
            raise
        except BaseException as exc:
            # A callback, or a raw greenlet whose parent is the hub, raised.
            n += 1
            self.handle_error(w, exc)
        finally:
            self.switches += n  # once per batch: counting in the loop would cost every switch

    def _idle_timeout(self) -> float | None:
        """Nothing is ready: how long to block, or None once LoopExit or joiners were delivered.

        Reached when no timer is set, or when ``join()`` waits (its timeout timer does not count
        as work, hence the scan for referenced timers).
        """
        timers = self._timers
        block = -1.0
        if timers:
            block = max(timers[0][0] - self.clock(), 0.0)
        if self._threadsafe or self._keepalive or self._io_awaited():
            return block
        for _, _, t in timers:
            if t.active and t.ref:
                return block
        if self._other_threads():
            return _THREAD_RECHECK if block < 0 else min(block, _THREAD_RECHECK)
        # Nothing can ever wake anybody. Joiners were waiting for exactly that.
        for _, _, t in list(timers):
            t.cancel()  # only unreferenced timers (join timeouts) are left
        self._compact_timers()
        if self._joiners:
            joiners, self._joiners = self._joiners, []
            for jw in joiners:
                if jw[1] is PENDING:
                    jw[1] = True
                    self._ready.append(jw)
            return None
        main = self._main_greenlet()
        assert main is not None  # a hub's parent is its thread's root greenlet
        if main.dead:
            # A fork child whose main greenlet was abandoned, and whose successor has ended:
            # no thread is left (see _fork).
            exit_child(0)
        main.throw(LoopExit(_describe_deadlock(main)))
        return None

    def _other_threads(self) -> bool:
        # _thread._count() counts live threads other than the main one. In a non-main thread
        # that includes ourselves but not the main thread, which could wake us: the same sum.
        # Except in a thread-pool worker, which the sum leaves out: the main thread may still
        # wake it (a worker waiting on a patched lock a greenlet holds).
        if self.thread_ident != _originals.main_thread_ident:
            return True
        return _originals.thread_count() - _helper_threads[0] > 0

    # -- life cycle -----------------------------------------------------------------------------

    def destroy(self) -> None:
        """Stop the loop and release its fds; the thread gets a new hub on its next wait."""
        if getattr(_tls, "hub", None) is self:
            set_hub(None)
        self._destroyed = True
        if self and getcurrent() is self.parent:
            self.throw(GreenletExit)
        self._poller.close()
        self._wakeup.close()
        self._fds.clear()


def _exit_without_threads(exc: BaseException) -> None:
    """KeyboardInterrupt or SystemExit in a fork child that has no thread left to deliver it to
    (see _fork): end the process as the interpreter would end it with that exception."""
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None or isinstance(code, int):
            exit_child(code or 0)
        print(code, file=sys.stderr)
    else:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    exit_child(1)


def _describe_deadlock(root: Any) -> str:
    """Name the wait a deadlocked greenlet is stuck in, from its suspended frames."""
    frame = getattr(root, "gr_frame", None)
    op = site = None
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith(_PACKAGE_DIR):
            op = getattr(code, "co_qualname", None)
            if op is None:  # Python 3.10: rebuild Class.method from the frame's self
                owner = frame.f_locals.get("self")
                op = code.co_name if owner is None else f"{type(owner).__name__}.{code.co_name}"
        elif op is not None:
            site = f"{code.co_filename}:{frame.f_lineno}"
            break
        frame = frame.f_back
    who = "the main greenlet" if root.parent is None else repr(root)
    if op is None:
        where = f"{who} is waiting"
    elif site is None:
        where = f"{who} waits in {op}()"
    else:
        where = f"{who} waits in {op}() called at {site}"
    return (
        f"{where}, and nothing can wake it: no greenlet is ready to run, "
        "no timer is pending, no file descriptor is awaited"
    )


def get_hub() -> Hub:
    """The hub of the calling OS thread, created on first use."""
    # Fast path: the thread's root greenlet and every Greenlet carry their hub as ``_hub``
    # (an attribute lookup is about 60 ns cheaper than the thread-local).
    # Any: the current greenlet, which may or may not carry ``_hub``; EAFP is the fast path.
    current: Any = getcurrent()
    try:
        return current._hub
    except AttributeError:
        pass
    hub = getattr(_tls, "hub", None)
    if hub is None:
        hub = Hub()
        set_hub(hub)
    return hub


def hub_of(glet: Any) -> Hub | None:
    """The hub ``glet`` (any greenlet) runs under, in whichever OS thread; None if it has none.

    A greenlet carries its hub as ``_hub`` (hub.Greenlet, spawn_raw's, a thread's root), or its
    nearest ancestor does: a raw greenlet's parent is its thread's hub or main greenlet.
    """
    g = glet
    while g is not None:
        hub = getattr(g, "_hub", None)
        if hub is not None:
            return hub
        g = g.parent
    return None


def get_hub_if_exists() -> Hub | None:
    """The calling thread's hub, or None if it has none yet."""
    return getattr(_tls, "hub", None)


def set_hub(hub: Hub | None) -> None:
    """Make ``hub`` the calling thread's hub (None: forget it). For tests and embedding."""
    root: Any = getcurrent()  # Any: the root greenlet gets a ``_hub`` attribute (see get_hub)
    while root.parent is not None:
        root = root.parent
    if hub is None:
        if hasattr(_tls, "hub"):
            del _tls.hub
        root.__dict__.pop("_hub", None)
    else:
        _tls.hub = hub
        root._hub = hub
    _registry.note_hub(hub)  # other threads reach this hub through it (closing an fd, exit)


# The pid the hub's fork handling last ran for (reinit() tells a missed fork by it).
_pid = [os.getpid()]


def reinit() -> None:
    """Re-initialise the calling thread's hub after a fork Python's at-fork hooks did not see.

    ``os.fork()`` (and anything forking through it, multiprocessing included) already runs this
    in the child. Call it in a child forked by a C library that skips Python's hooks; in a
    process whose hub is already its own (the parent, or a child whose hooks ran) it does nothing.
    """
    if os.getpid() != _pid[0]:
        _after_fork_in_child()


def _after_fork_in_child() -> None:
    _pid[0] = os.getpid()
    hub = getattr(_tls, "hub", None)
    if hub is not None:
        hub.thread_ident = _originals.get_ident()
        hub._reinit_after_fork()
        # Calls other threads queued before the fork still run in the child: what they report
        # (a thread-pool job's outcome, say) happened before the fork, so it holds here too.
        hub._wake_pending = bool(hub._threadsafe)
        if hub._wake_pending:
            hub._wakeup.wake()
    global _helpers_lock
    _helpers_lock = _originals.allocate_lock()
    _helper_threads[0] = 0


if _originals.register_at_fork is not None:
    _originals.register_at_fork(after_in_child=_after_fork_in_child)
