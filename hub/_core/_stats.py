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
    #: Of ``fds``, those a greenlet waits on now.
    fds_awaited: int = 0
    #: Wake-ups counted with ``Hub.keep_alive`` (thread-pool jobs in flight).
    keepalive: int = 0
    #: ``run_threadsafe`` calls queued and not yet taken by the loop.
    threadsafe_calls: int = 0
    #: The timer heap's length, cancelled timers not yet dropped included.
    timer_heap: int = 0
    #: ``"epoll"``, or ``"selectors"`` (the level-triggered fallback).
    poller: str = "epoll"

    @property
    def timers(self) -> int:
        """How many timers are pending."""
        return len(self.pending_timers)
