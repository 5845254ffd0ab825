"""TaskGroup: structured concurrency for greenlets, after ``asyncio.TaskGroup``.

::

    with hub.TaskGroup() as tg:
        tg.spawn(fetch, url1)
        tg.spawn(fetch, url2)
    # here both are finished

Rules:

- leaving the block waits for every child (children may spawn more children into the group);
- when a child fails, the other children are killed, the body is interrupted if it is still
  running (it may be blocked in a wait), and the block raises an ExceptionGroup with every
  failure (a BaseExceptionGroup if one is not an Exception);
- when the body raises, the children are killed; the error propagates as is, or wrapped in an
  ExceptionGroup together with children's failures if there were any;
- an interruption from outside (a Timeout around the block, ``kill()``, KeyboardInterrupt)
  kills the children, waits for them, and propagates unchanged.

A child killed by the group (GreenletExit) is not a failure. Failures of children are not
printed: they are raised, which is the point. Everything runs in one thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, TypeVar

from greenlet import GreenletExit, getcurrent

from ._core import Throw, WaitQueue, get_hub
from ._greenlet import Greenlet

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - Python 3.10
    from exceptiongroup import BaseExceptionGroup

__all__ = ["TaskGroup"]

_T = TypeVar("_T")
_SYSTEM_ERRORS = (KeyboardInterrupt, SystemExit)


class _Aborted(BaseException):
    """Thrown into the body of a TaskGroup when a child failed; swallowed by the group."""


class _Child(Greenlet[_T]):
    """A Greenlet whose failure is reported to its group instead of printed."""

    __slots__ = ()

    def _finish(self, value: Any, exc: BaseException | None, report: bool = True) -> None:
        # KeyboardInterrupt and SystemExit still go to the main greenlet, as for any greenlet.
        Greenlet._finish(self, value, exc, report and isinstance(exc, _SYSTEM_ERRORS))


class TaskGroup:
    """A scope that owns the greenlets spawned in it; see the module documentation."""

    def __init__(self) -> None:
        self._children: set[Greenlet[Any]] = set()
        self._errors: list[BaseException] = []
        self._parent: Any = None
        self._hub: Any = None
        self._state = "new"  # new -> running -> exiting -> done
        self._aborting = False
        self._abort_exc: _Aborted | None = None
        self._abort_throw: Throw | None = None
        self._waiters = WaitQueue()  # the body's greenlet, leaving the block

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} at {id(self):#x} {self._state} "
            f"children={len(self._children)} errors={len(self._errors)}>"
        )

    def __enter__(self) -> TaskGroup:
        if self._state != "new":
            raise RuntimeError(f"{self!r} has already been entered")
        self._state = "running"
        self._parent = getcurrent()
        self._hub = get_hub()
        return self

    def spawn(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> Greenlet[_T]:
        """Start ``function(*args, **kwargs)`` as a child of the group; return its Greenlet."""
        if self._state == "new":
            raise RuntimeError(f"{self!r} has not been entered")
        if self._state == "done":
            raise RuntimeError(f"{self!r} is finished")
        if self._aborting:
            raise RuntimeError(f"{self!r} is shutting down")
        g: Greenlet[_T] = _Child(function, *args, **kwargs)
        self._children.add(g)
        g.rawlink(self._on_child_done)
        g.start()
        return g

    @property
    def children(self) -> frozenset[Greenlet[Any]]:
        """The children still running."""
        return frozenset(self._children)

    def _on_child_done(self, g: Greenlet[Any]) -> None:
        # In the hub, when a child finishes however it finishes.
        self._children.discard(g)
        exc = g.exception
        if exc is not None and not isinstance(exc, GreenletExit):
            self._errors.append(exc)
            self._abort(interrupt_body=True)
        if not self._children and self._waiters:
            self._waiters.claim_all(None)

    def _abort(self, interrupt_body: bool) -> None:
        if not self._aborting:
            self._aborting = True
            for child in list(self._children):
                child.kill(block=False)
            if interrupt_body and self._state == "running":
                # Like asyncio cancelling the parent task: the body may be stuck in a wait
                # that only the failed child would have ended.
                self._abort_exc = _Aborted("a child of the TaskGroup failed")
                self._abort_throw = Throw(self._parent, self._abort_exc)
                self._hub.schedule(self._abort_throw)

    def __exit__(
        self,
        typ: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        self._state = "exiting"
        if exc is not None and exc is self._abort_exc:
            exc = None  # ours: the failures are in self._errors
        elif exc is not None:
            self._abort(interrupt_body=False)
        interrupt = exc if exc is not None and not isinstance(exc, Exception) else None
        try:
            while self._children:
                try:
                    self._waiters.park(None)
                except BaseException as e:
                    if e is self._abort_exc:
                        continue  # a child failed while the body was ending: keep waiting
                    # Interrupted while waiting for the children (a Timeout, a kill, an outer
                    # group's abort): kill them, still wait for them, then let it through.
                    self._abort(interrupt_body=False)
                    if interrupt is None:
                        interrupt = e
        finally:
            self._state = "done"
            if self._abort_throw is not None:
                self._abort_throw.cancel()  # not delivered yet: it must not escape the block
        errors = self._errors
        if interrupt is not None:
            for error in errors:
                self._hub.print_exception(self, error)
            if interrupt is exc:
                return False  # re-raised by the with statement, with its traceback
            raise interrupt
        if errors:
            if exc is not None:
                errors = [exc, *errors]
            n = len(errors)
            raise BaseExceptionGroup(
                f"{n} failure{'s' if n != 1 else ''} in a TaskGroup", errors
            ) from None
        return False
