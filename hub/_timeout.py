"""Timeout: raise an exception in the current greenlet when a block takes too long."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from greenlet import getcurrent

from ._core import Throw, Timer, get_hub

__all__ = ["Timeout", "with_timeout"]

_T = TypeVar("_T")
_NONE: Any = object()


class Timeout(BaseException):
    """A deadline for the greenlet that starts it; an exception and a context manager.

    ``with Timeout(5): ...`` raises this Timeout instance inside the block if it is still running
    after 5 seconds. ``exception`` chooses what is raised instead: an exception class or instance,
    or ``False`` for a silent timeout that just ends the block. ``seconds=None`` never fires.
    Nested timeouts are independent: each raises its own instance, and a silent one only swallows
    itself, so ``except Timeout as t: if t is not mine: raise`` tells them apart.

    It derives from BaseException, like gevent's, so that ``except Exception`` in the code it
    interrupts does not swallow it.
    """

    def __init__(
        self,
        seconds: float | None = None,
        exception: BaseException | type[BaseException] | bool | None = None,
        *,
        ref: bool = True,
    ) -> None:
        super().__init__()
        self.seconds = seconds
        self.exception = exception
        self._ref = ref
        self._timer: Timer | None = None

    def start(self) -> None:
        """Start the countdown in the current greenlet. AssertionError if already pending."""
        if self.pending:
            raise AssertionError(f"{self!r} is already started; cancel it before restarting it")
        if self.seconds is None:
            return
        exc = self.exception
        if exc is None or exc is False or exc is True:
            exc = self
        self._timer = get_hub().timer(self.seconds, Throw(getcurrent(), exc), None, self._ref)

    @classmethod
    def start_new(
        cls,
        timeout: float | Timeout | None = None,
        exception: BaseException | type[BaseException] | bool | None = None,
        *,
        ref: bool = True,
    ) -> Timeout:
        """Create and start a Timeout (or start the given one if it is a Timeout)."""
        if isinstance(timeout, Timeout):
            if not timeout.pending:
                timeout.start()
            return timeout
        t = cls(timeout, exception, ref=ref)
        t.start()
        return t

    @property
    def pending(self) -> bool:
        """True while started and neither fired nor cancelled."""
        return self._timer is not None and self._timer.active

    def cancel(self) -> None:
        """Stop the countdown. Safe to call at any time, any number of times."""
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    close = cancel

    def __enter__(self) -> Timeout:
        if not self.pending:
            self.start()
        return self

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        self.cancel()
        if value is self and self.exception is False:
            return True
        return None

    def __str__(self) -> str:
        if self.seconds is None:
            return ""
        unit = "second" if self.seconds == 1 else "seconds"
        if self.exception is None:
            return f"{self.seconds} {unit}"
        if self.exception is False:
            return f"{self.seconds} {unit} (silent)"
        return f"{self.seconds} {unit}: {self.exception}"

    def __repr__(self) -> str:
        extra = "" if self.exception is None else f" exception={self.exception!r}"
        state = " pending" if self.pending else ""
        return f"<Timeout at {id(self):#x} seconds={self.seconds}{extra}{state}>"


def with_timeout(seconds: float | None, function: Callable[..., _T], *args: Any, **kwds: Any) -> _T:
    """Call ``function(*args, **kwds)`` under a Timeout of ``seconds``.

    With a ``timeout_value=`` keyword, return that value when the timeout fires instead of
    raising the Timeout.
    """
    timeout_value = kwds.pop("timeout_value", _NONE)
    timeout = Timeout.start_new(seconds)
    try:
        return function(*args, **kwds)
    except Timeout as t:
        if t is timeout and timeout_value is not _NONE:
            return timeout_value
        raise
    finally:
        timeout.cancel()
