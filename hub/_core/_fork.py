"""A hub after ``fork()``: the child's own epoll instance and wake-up fd, the same fd table;
and the greenlets that do not exist in the child.

A mixin of ``Hub`` (``_hub.py``); ``_hub._after_fork_in_child`` (registered with
``os.register_at_fork``) and ``reinit()`` call ``_reinit_after_fork`` in the child. The thread
layer (``hub._thread``) calls :meth:`ForkReinit.abandon` there with the green threads that the
child does not have.

Greenlets that vanish in a fork child
=====================================

``fork()`` copies only the calling OS thread: in the child every other thread is gone, without
running another line of Python (no ``finally`` block, no ``with`` exit; a lock such a thread
held stays held). Green threads are greenlets of the hub, and the hub is copied whole, so
without help every one of them would go on running in the child: a worker loop of the parent
would run twice, once per process, and a thread blocked on a lock would grab a lock in the child
that nobody there asked for. ``abandon(greenlets)`` gives the child the stdlib's picture: it
makes sure the hub never resumes those greenlets again, and keeps them referenced for the life
of the process.

*Why keep them, and not kill them.* Killing is ``throw(GreenletExit)``: their ``finally``
blocks and context managers would run in the child (releasing locks of the parent's threads,
closing files the parent still uses, writing to shared sockets). A greenlet that is garbage
collected while suspended is killed the same way by greenlet itself. So the abandoned greenlets
go into ``_ABANDONED``, a list the child never empties: they are never resumed, never freed, and
at the child's exit greenlet does not unwind suspended greenlets (CPython's own threads are not
unwound either). The cost is their memory, which the child inherited anyway.

*How a greenlet can be resumed, and how each way is closed.* Only the hub resumes a waiting
greenlet (the switching rule), and only through a ready-queue entry. A suspended greenlet is in
one of three states, and each is handled once, here, in the child only: the parent pays nothing
for this, on no path.

1. *It waits* (``Hub.suspend`` and its inlined copies: ``sleep``, fd waits, every ``WaitQueue``,
   thread-pool results). Its waiter entry ``[greenlet, PENDING, ...]`` is registered where the
   wake-up comes from: a timer, an fd's reader/writer slot, a lock's or an event's wait queue,
   a thread-pool job. Those places are everywhere (each lock has its own queue), but the waiter
   itself is always in one place: a local variable of the suspended frame that made the wait,
   which needs it for its ``finally``. So we walk the greenlet's suspended frames and *disarm*
   every waiter entry of that greenlet found there: item 1 becomes ``TIMEOUT`` (every claimer
   skips an entry that is not ``PENDING``: a lock released, a queue item put, an event set or
   an fd edge goes to the next waiter, or leaves the lock free, exactly as if the vanished
   thread had never waited) and item 0 becomes None (an entry already claimed and queued is
   dropped by the hub when it is popped). Then the registrations the hub owns are swept, so
   they do not keep the child's hub busy or awake: timers whose entry was disarmed are
   cancelled, disarmed waiters leave the fd slots (an fd with a waiter counts as awaited: the
   hub would never declare a deadlock), the idle and join lists. Wait queues of locks and
   events keep their disarmed entries until their next claim skips them, as they keep an entry
   whose timeout fired.
2. *It is queued to start or to be thrown into*: a started greenlet not yet run is its own ready
   entry (``SelfEntry``), or its ``start_later`` timer's entry; a kill or a ``Timeout`` is a
   ``Throw`` entry in the ready queue or in a timer; a raw greenlet's start is a ``Callback`` of
   its bound ``switch``. Those entries are removed from the ready queue (rebuilt in place: the
   loop holds it in a local) and their timers cancelled.
3. *It switched away by hand* (``other.switch()`` outside the hub's protocol): nothing of the
   hub's refers to it, and nothing here can stop the program's own code from switching to it.

Calls that other threads queued with ``run_threadsafe`` before the fork still run in the child;
those that would wake an abandoned greenlet find its waiter disarmed.

*The main greenlet.* When a green thread (or a plain greenlet that ``threading`` counts as a
thread of its own) forks, the thread's main greenlet is one of the threads that vanish. It is
the hub's parent, and the hub throws into it what belongs to "the main thread": ``LoopExit``,
``KeyboardInterrupt`` and ``SystemExit``. ``abandon(..., successor=g)`` names the greenlet that
takes that role in this thread (the forking one, which ``threading`` made the child's main
thread). When the successor has ended too and nothing is left that could ever run, the child
has no thread left: it exits with status 0 (``sys.stdout``/``sys.stderr`` flushed, no
``atexit`` callbacks run, no finalization), as a process exits whose last thread ended.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ._io import UNPOLLABLE, HubIO, remove_waiter
from ._timers import Timer
from ._waiter import PENDING, TIMEOUT, Callback, Throw

__all__ = ["ForkReinit", "exit_child"]

# Greenlets abandoned in this process (see the module docstring): referenced for ever, so that
# greenlet never kills them on deallocation. Never emptied.
_ABANDONED: list[Any] = []
# OS thread ident -> the greenlet that took the main greenlet's role in that thread's hub.
_successors: dict[int, Any] = {}


def exit_child(status: int) -> None:
    """End a fork child whose threads have all ended: flush the standard streams, ``_exit``."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass  # a closed or broken stream: nothing better to do on the way out
    os._exit(status)


class ForkReinit(HubIO):
    """What ``Hub`` does in a forked child (see the module docstring)."""

    __slots__ = ()
    _ready: Any
    _timers: list[tuple[float, int, Timer]]
    _idle: Any
    _joiners: list[list[Any]]
    thread_ident: int
    parent: Any
    _setup_io: Callable[[], None]
    notify_closing: Callable[[int], None]

    def _reinit_after_fork(self) -> None:
        # The child shares the parent's epoll instance and eventfd: replace both, and register
        # again the fds we still know about. The fd table is emptied in place, never replaced:
        # the loop that was running when the parent forked holds it in a local variable, and
        # would otherwise dispatch the child's events against a dead copy and lose them.
        old_fds = dict(self._fds)
        try:
            self._poller.close()
        except OSError:
            pass
        self._wakeup.close()
        self._fds.clear()
        self._setup_io()
        for fd, st in old_fds.items():
            if st is self._wakeup_st or fd == self._wakeup_st.fd:
                continue
            try:
                st.pollable = self._poller.add(fd) != UNPOLLABLE
                st.edge = st.pollable and not self._level_triggered
            except OSError:
                # The fd was closed behind the hub's back before the fork (EBADF): end its state
                # as notify_closing would, so its waiters get EBADF and its owner a fresh one.
                self._fds[fd] = st
                self.notify_closing(fd)
                continue
            self._fds[fd] = st
            if self._level_triggered:
                st.mask = 0
                self._poller.update(st)

    def abandon(self, greenlets: Iterable[Any], successor: Any = None) -> None:
        """Never resume ``greenlets`` (suspended greenlets of this hub) again, and never free
        them: in a fork child, the threads that do not exist there (see the module docstring).

        If the thread's main greenlet is among them, ``successor`` (the greenlet that forked)
        takes its role for what the hub delivers to the main greenlet; once the successor has
        ended and nothing can run any more, the process exits with status 0.
        """
        gone = {id(g): g for g in greenlets if g is not self and not g.dead}
        if successor is not None:
            _successors[self.thread_ident] = successor
        if not gone:
            return
        _ABANDONED.extend(gone.values())
        for g in gone.values():
            _disarm_waiters_of(g)

        def unwanted(entry: Any) -> bool:
            # An entry that would resume an abandoned greenlet (state 2), or a disarmed waiter.
            target = entry[0]
            if target is None:
                return True
            if id(target) in gone and gone[id(target)] is target:
                return True
            if isinstance(entry, Throw):
                return gone.get(id(entry.target)) is entry.target
            if isinstance(entry, Callback):
                owner = getattr(entry.fn, "__self__", None)
                return owner is not None and gone.get(id(owner)) is owner
            return False

        ready = self._ready
        kept = [e for e in ready if not unwanted(e)]
        ready.clear()
        ready.extend(kept)
        for _, _, timer in list(self._timers):
            if timer.active and unwanted(timer.entry):
                timer.cancel()
        for st in self._fds.values():
            for attr in ("reader", "writer"):
                slot = getattr(st, attr)
                if slot is None:
                    continue
                for w in tuple(slot) if type(slot) is deque else (slot,):
                    if w[0] is None:
                        slot = remove_waiter(slot, w)
                setattr(st, attr, slot)
            if self._level_triggered and st.fd >= 0 and st is not self._wakeup_st:
                self._poller.update(st)
        # In place, as the ready queue: the loop holds the idle list in a local too.
        idle = [w for w in self._idle if w[0] is not None]
        self._idle.clear()
        self._idle.extend(idle)
        self._joiners[:] = [w for w in self._joiners if w[0] is not None]

    def _main_greenlet(self) -> Any:
        """The greenlet that gets what belongs to the thread's main greenlet (LoopExit,
        KeyboardInterrupt, SystemExit): the hub's parent, or the successor of an abandoned one
        (see :meth:`abandon`)."""
        if _successors:
            successor = _successors.get(self.thread_ident)
            if successor is not None:
                return successor
        return self.parent


def _disarm_waiters_of(g: Any) -> None:
    """Disarm every waiter entry of ``g`` held by its suspended frames (state 1 above)."""
    frame = g.gr_frame
    while frame is not None:
        for value in frame.f_locals.values():
            if type(value) is list and len(value) >= 2 and value[0] is g:
                if value[1] is PENDING:
                    value[1] = TIMEOUT
                value[0] = None
        frame = frame.f_back
