"""``put`` and ``get`` for the stdlib's own ``queue.Queue`` (``LifoQueue`` and ``PriorityQueue``
inherit them).

``patch_queue()`` sets them on ``queue.Queue`` in place (the ``Queue.put`` and ``Queue.get``
rows of the patch table), so the class stays the stdlib's, with ``mutex``, ``not_empty``,
``not_full``, ``all_tasks_done``, ``queue`` and ``unfinished_tasks``, and a subclass's
``_init``, ``_qsize``, ``_put`` and ``_get`` are called exactly where the stdlib calls them.
They do the stdlib's steps, in its order, with its exceptions (``Full``, ``Empty``, 3.13's
``ShutDown``, ValueError for a negative timeout); what differs is the cost of the steps around
the queue's own:

- the mutex is taken and released directly (``try``/``finally``) instead of through
  ``Condition.__enter__`` and ``__exit__``, two Python calls each way per operation;
- for an instance of ``queue.Queue`` itself (not a subclass), whose ``_qsize``, ``_put`` and
  ``_get`` are the stdlib's one-liners on its deque, the blocking calls' steps do those
  one-liners inline (``len(self.queue)``, ``append``, ``popleft``) instead of calling them,
  three Python calls fewer per hand-over; a subclass's methods (``LifoQueue``'s,
  ``PriorityQueue``'s, a program's) are always called. (A method set on one instance, or
  replaced on ``queue.Queue`` itself, is not seen on that path: ``mock.patch.object(q,
  "_put")`` and ``mock.patch.object(queue.Queue, "_put")`` need a subclass. Checking the
  class's methods on every call cost 4.5% of a Queue(maxsize=1) hand-over by callgrind.)
- the end of a put or get is one call (``_notify_release``) for the notify and the release;
  over the patched Lock it does ``notify()``'s common case (the first waiter is of this
  thread and still waiting: claimed and scheduled, as ``Condition.notify`` does it) and the
  lock's uncontended release (its state lock's C call, then the waiters check that keeps
  hub/_lock.py's hand-over protocol) without further calls;
- a ``notify()`` nobody waits for is not called at all (with the mutex held, an empty
  ``_waiters`` cannot fill: a waiter registers under the mutex). When somebody waits, it is the
  Condition's own ``notify()`` that wakes it, so a waiter of another OS thread, or of
  ``Condition.wait`` called by user code, is woken as before.

The waits are the Condition's ``wait()`` (under ``patch_thread()``, hub/threading.py's). Every
other method (``task_done``, ``join``, ``qsize``, ``shutdown``, ...) is the stdlib's.
"""

from __future__ import annotations

import queue as _queue
import sys
from typing import Any

from ._core import PENDING as _PENDING
from ._core import get_ident as _get_ident
from ._core import monotonic as _monotonic
from ._thread import LockType as _LockType

__all__ = ["Queue"]

_Full = _queue.Full
_Empty = _queue.Empty
# 3.13 added shutdown(): its ShutDown, and the checks put() and get() make for it.
_HAS_SHUTDOWN = sys.version_info >= (3, 13)
_ShutDown: Any = getattr(_queue, "ShutDown", None)
_StdQueue = _queue.Queue


class Queue(_queue.Queue):
    """``queue.Queue`` whose ``put`` and ``get`` skip the stdlib's ``with`` blocks' calls.

    Only the two methods are used: ``patch_queue()`` sets them on the stdlib's class.
    """

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item`` into the queue, waiting for a free slot if needed (as the stdlib)."""
        not_full: Any = self.not_full
        lock: Any = not_full._lock
        own = type(self) is _StdQueue  # the stdlib's _qsize and _put: spelled out (see above)
        lock.acquire()
        try:
            if _HAS_SHUTDOWN and self.is_shutdown:  # type: ignore[attr-defined]
                raise _ShutDown
            if self.maxsize > 0:
                if not block:
                    if self._qsize() >= self.maxsize:
                        raise _Full
                elif timeout is None:
                    while (len(self.queue) if own else self._qsize()) >= self.maxsize:
                        not_full.wait()
                        if _HAS_SHUTDOWN and self.is_shutdown:  # type: ignore[attr-defined]
                            raise _ShutDown
                elif timeout < 0:
                    raise ValueError("'timeout' must be a non-negative number")
                else:
                    endtime = _monotonic() + timeout
                    while self._qsize() >= self.maxsize:
                        remaining = endtime - _monotonic()
                        if remaining <= 0.0:
                            raise _Full
                        not_full.wait(remaining)
                        if _HAS_SHUTDOWN and self.is_shutdown:  # type: ignore[attr-defined]
                            raise _ShutDown
            if own:
                self.queue.append(item)
            else:
                self._put(item)
            self.unfinished_tasks += 1
        except BaseException:
            lock.release()
            raise
        _notify_release(self.not_empty, lock, own)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return an item, waiting for one if needed (as the stdlib)."""
        not_empty: Any = self.not_empty
        lock: Any = not_empty._lock
        own = type(self) is _StdQueue  # the stdlib's _qsize and _get: spelled out (see above)
        lock.acquire()
        try:
            if _HAS_SHUTDOWN and self.is_shutdown and not self._qsize():  # type: ignore[attr-defined]
                raise _ShutDown
            if not block:
                if not self._qsize():
                    raise _Empty
            elif timeout is None:
                while not (len(self.queue) if own else self._qsize()):
                    not_empty.wait()
                    if _HAS_SHUTDOWN and self.is_shutdown and not self._qsize():  # type: ignore[attr-defined]
                        raise _ShutDown
            elif timeout < 0:
                raise ValueError("'timeout' must be a non-negative number")
            else:
                endtime = _monotonic() + timeout
                while not self._qsize():
                    remaining = endtime - _monotonic()
                    if remaining <= 0.0:
                        raise _Empty
                    not_empty.wait(remaining)
                    if _HAS_SHUTDOWN and self.is_shutdown and not self._qsize():  # type: ignore[attr-defined]
                        raise _ShutDown
            item = self.queue.popleft() if own else self._get()
        except BaseException:
            lock.release()
            raise
        _notify_release(self.not_full, lock, own)
        return item


def _notify_release(cond: Any, lock: Any, own: bool) -> None:
    """``cond.notify()`` if anybody waits, then ``lock.release()``: the end of a put or get.

    For a ``queue.Queue`` itself (``own``) over the patched Lock, the common cases of both are
    spelled out (see the module documentation), in one call instead of two.
    """
    fast = own and type(lock) is _LockType
    try:
        waiters = cond._waiters
        if waiters:
            w = waiters[0]
            # Condition.notify()'s common case (hub/threading.py): a waiter of this thread,
            # still waiting. (A list entry means its _waiters is a WaitQueue already.)
            if fast and type(w) is list and w[1] is _PENDING and w[2].thread_ident == _get_ident():
                waiters.popleft()
                w[1] = True
                schedule = w[2].schedule  # (a local: see Hub.schedule)
                schedule(w)
            else:
                cond.notify()
    finally:
        if not fast or lock._waiters:
            lock.release()  # (with a waiter: hands the lock over)
        else:
            lock._lock.release()  # Lock.__exit__'s fast path: nobody waits for it
            if lock._waiters:
                lock._take_back()
