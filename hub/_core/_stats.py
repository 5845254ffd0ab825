"""HubStatistics: what ``Hub.statistics()`` answers, for users, tests and ``hub.util``."""

from __future__ import annotations

from dataclasses import dataclass

from ._timers import Timer

__all__ = ["HubStatistics"]


@dataclass(frozen=True)
class HubStatistics:
    """A snapshot of one hub's load (see ``Hub.statistics``)."""

    #: Entries queued to run on the next turn (woken greenlets, callbacks, new spawns).
    ready: int
    #: Timers that will still fire (sleeps, timeouts, ``call_later``), soonest first.
    pending_timers: tuple[Timer, ...]
    #: File descriptors registered with the poller (the hub's own wake-up fd left out).
    fds: tuple[int, ...]
    #: Ready entries run since the hub was created (greenlet resumptions and callbacks).
    switches: int
    #: The loop's poll counter (two per poll; see ``Hub.loop_turns``).
    loop_turns: int

    @property
    def timers(self) -> int:
        """How many timers are pending."""
        return len(self.pending_timers)
