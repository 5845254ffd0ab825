"""Ready-queue entries: how a suspended greenlet is woken, and how it stays unwoken.

Everything that can resume a greenlet puts an *entry* on the hub's ready queue; the hub loop pops
entries and switches to them. An entry is a two-item list::

    entry = [target, value]

``target`` is what the hub switches to: a greenlet, or a Callback (whose ``switch()`` runs a
function), or None once nobody wants the entry any more. ``value`` is ``PENDING`` until somebody
*claims* the entry; the claim sets the value and queues the entry, and any later claim sees the
value is set and backs off. Entries are lists, not instances of a class, because a wait is the
hottest path there is and a list is the cheapest object CPython allocates (about a quarter of a
two-slot instance with ``__init__``). There are four kinds:

- a *waiter*, ``[greenlet, PENDING]``: one per wait. The waiting greenlet creates it, registers
  it where the wake-up will come from (an fd's reader slot, a timer, an Event's list), switches
  to the hub, and in ``finally`` sets ``waiter[0] = None``. That last step makes stale wake-ups
  harmless: a waiter that was queued, but whose greenlet was meanwhile resumed another way
  (killed, timed out), is skipped by the hub because its target is None when it is popped.
- a ``Callback``: a function to run in the hub. It is a list subclass whose item 0 is itself, so
  the hub treats it like any other entry; ``cancel()`` sets item 0 to None.
- a ``Throw``: a Callback that raises an exception in a greenlet (``kill()``, ``Timeout``).
- a started ``hub.Greenlet`` itself: ``start()`` and ``spawn()`` queue the greenlet, which is
  a :class:`SelfEntry`: it answers item 0 with itself until it runs or is killed, and None
  after. A spawn then allocates no entry, which matters to the garbage collector when many
  greenlets are spawned at once. Only the hub loop reads such an entry, and only its item 0;
  any other index raises TypeError, as for any greenlet. (A subclass with a ``__getitem__`` of
  its own is queued in a plain ``[greenlet, None]`` list instead.)

A claimer that hands over something that must not be lost (a queue item, a lock) checks what
:func:`wake` returns; a woken greenlet that unwinds with an exception although it was claimed
already (value is not PENDING) hands the thing back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["PENDING", "TIMEOUT", "Callback", "SelfEntry", "Throw", "new_waiter", "wake"]


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: An entry's value before any wake-up claimed it.
PENDING: Any = _Marker("PENDING")
#: The value a timer delivers when a wait's timeout expires first.
TIMEOUT: Any = _Marker("TIMEOUT")


def new_waiter(greenlet: Any) -> list[Any]:
    """A fresh, unclaimed waiter entry for ``greenlet`` (hot paths write the literal instead)."""
    return [greenlet, PENDING]


class Callback(list):  # type: ignore[type-arg]
    """A ready-queue entry that runs ``fn(*args)`` in the hub, once, unless cancelled."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__((self, PENDING))
        self.fn = fn
        self.args = args

    def switch(self) -> None:
        # Called by the hub loop as if this were a greenlet.
        self[0] = None
        self.fn(*self.args)

    def cancel(self) -> None:
        """Do not run (a no-op once it ran)."""
        self[0] = None

    @property
    def pending(self) -> bool:
        """True until the callback ran or was cancelled."""
        return self[0] is not None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.fn!r}{self.args!r} pending={self.pending}>"

    __eq__ = object.__eq__  # type: ignore[assignment]  # identity, not list equality
    __hash__ = object.__hash__  # type: ignore[assignment]


class Throw(Callback):
    """Raise ``exc`` in ``target`` when run, unless ``target`` is dead by then."""

    __slots__ = ("target",)

    def __init__(self, target: Any, exc: BaseException | type[BaseException]) -> None:
        super().__init__(target.throw, (exc,))
        self.target = target

    def switch(self) -> None:
        self[0] = None
        target = self.target
        if not target.dead:
            target.throw(*self.args)


class SelfEntry:
    """Mixin for an object queued as its own ready entry (a started ``hub.Greenlet``).

    The object keeps ``_start is True`` while its entry is live; ``entry[0]`` is then the
    object, and None once ``_start`` is anything else (it ran, or its start was cancelled).
    That is all an entry has to answer: any other subscript raises TypeError, as it would for
    a greenlet, and the object is not iterable.
    """

    __slots__ = ()
    _start: Any

    def __getitem__(self, index: int) -> Any:
        if index == 0 and type(index) is int:
            return self if self._start is True else None
        raise TypeError(f"'{type(self).__name__}' object is not subscriptable")

    __iter__ = None  # __getitem__ must not make it iterable


def wake(hub: Any, entry: list[Any], value: Any) -> bool:
    """Claim ``entry`` with ``value`` and queue it; False if it was claimed already."""
    if entry[1] is PENDING:
        entry[1] = value
        hub._ready.append(entry)
        return True
    return False
