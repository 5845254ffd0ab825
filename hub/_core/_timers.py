"""Timers: entries of the hub's heap, woken with a value when their deadline passes.

The heap holds ``(when, seq, timer)`` tuples so that ordering is decided by C tuple comparison.
Cancelling only marks the timer; the hub drops dead entries when they reach the top of the heap
and rebuilds the heap when more than half of it is dead (socket timeouts are set on nearly every
blocking call and nearly always cancelled, so most timers die young).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Timer"]


class Timer:
    """A pending wake-up of ``entry`` with ``value`` at ``when`` (hub clock); see
    ``Hub.timer`` and ``Hub.call_later``."""

    __slots__ = ("_hub", "active", "entry", "ref", "value", "when")

    def __init__(self, hub: Any, when: float, entry: Any, value: Any, ref: bool = True) -> None:
        self._hub = hub
        self.when = when
        self.entry = entry
        self.value = value
        self.active = True
        #: False: this timer alone does not keep a deadlocked hub waiting (see ``Hub.join``).
        self.ref = ref

    @property
    def pending(self) -> bool:
        """True until the timer fired or was cancelled."""
        return self.active

    def cancel(self) -> None:
        """Never fire; also cancels a queued callback entry that the timer already fired."""
        entry = self.entry
        if entry[0] is entry:  # a Callback/Throw: it runs in the hub, cancel it too
            entry[0] = None
        if self.active:
            self.active = False
            hub = self._hub
            hub._cancelled_timers += 1
            if hub._cancelled_timers > 256 and hub._cancelled_timers * 2 > len(hub._timers):
                hub._compact_timers()

    def __repr__(self) -> str:
        state = "pending" if self.active else "done"
        return f"<Timer when={self.when:.6f} {state} entry={self.entry!r}>"
