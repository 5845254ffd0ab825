"""Diagnostics for people: what every thread and greenlet is doing, hub statistics, switch checks.

- :func:`format_run_info` / :func:`print_run_info`: every OS thread's stack, then every live
  greenlet of every hub with its name, its state (running, ready, or what it waits on: an fd,
  a timer, an Event, a lock...), where it was spawned (with :func:`track_spawning`) and its stack.
  ``python -m monkeypatch --dump-on SIGUSR1`` prints it when the process gets the signal.
- :func:`statistics`: greenlets alive, ready queue, fds, timers and switches of a hub.
- :func:`assert_switches`: fails a block of code that keeps the hub from running.

Nothing here costs anything until it is called: states are read from the greenlets' suspended
frames (see ``hub._introspect``), greenlets are found with one pass of ``gc.get_objects()``.
Only spawn tracking costs while it is on (a stack summary per Greenlet created).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import traceback
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from greenlet import getcurrent, settrace

from . import _greenlet
from ._core import Hub, get_hub, get_ident, monotonic
from ._introspect import (
    describe_wait,
    format_frames,
    greenlet_name,
    hub_greenlets,
    running_greenlet,
)
from ._watchdog import Watchdog

__all__ = [
    "GreenletInfo",
    "Statistics",
    "assert_switches",
    "format_run_info",
    "greenlet_info",
    "print_run_info",
    "spawned_at",
    "statistics",
    "track_spawning",
]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# Frames kept per spawning stack: enough to see who spawned, bounded so tracking stays cheap.
_SPAWN_STACK_LIMIT = 16
_spawn_stacks: weakref.WeakKeyDictionary[Any, tuple[str, traceback.StackSummary]] = (
    weakref.WeakKeyDictionary()
)


# -- spawn tracking -----------------------------------------------------------------------------


def _record_spawn(g: Any) -> None:
    # Called from Greenlet.__init__: skip the frames of hub itself (spawn, __init__, ours).
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    stack = traceback.StackSummary.extract(
        traceback.walk_stack(frame), limit=_SPAWN_STACK_LIMIT, lookup_lines=False
    )
    stack.reverse()
    _spawn_stacks[g] = (greenlet_name(getcurrent()), stack)


def track_spawning(enabled: bool = True) -> None:
    """Record, for every Greenlet created from now on, which greenlet spawned it and from where.

    Off by default: it costs a stack walk per Greenlet (a few microseconds). The environment
    variable ``GREENPATCH_TRACK_SPAWNING=1`` turns it on when ``hub.util`` is first imported.
    """
    _greenlet.spawn_hook = _record_spawn if enabled else None


def spawned_at(g: Any) -> str | None:
    """Who spawned ``g`` and the stack it was spawned from, if tracking was on; else None."""
    found = _spawn_stacks.get(g)
    if found is None:
        return None
    parent, stack = found
    return f"spawned by {parent} at (most recent call last):\n" + "".join(stack.format())


if os.environ.get("GREENPATCH_TRACK_SPAWNING", "").strip() not in ("", "0"):
    track_spawning(True)


# -- statistics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistics:
    """What a hub has on its hands (see :func:`statistics`)."""

    #: Live greenlets of the hub's thread, not counting the hub and the thread's main greenlet.
    greenlets: int
    #: Entries queued to run next.
    ready: int
    #: File descriptors registered with the hub's poller.
    fds: int
    #: Timers that will still fire.
    timers: int
    #: Ready entries run since the hub was created.
    switches: int


def statistics(hub: Hub | None = None) -> Statistics:
    """Counts for ``hub`` (the calling thread's by default), from ``Hub.statistics()`` and one
    pass over the live objects for the greenlets."""
    if hub is None:
        hub = get_hub()
    stats = hub.statistics()
    others = [g for g in hub_greenlets(hub) if g is not hub and g.parent is not None]
    return Statistics(
        greenlets=len(others),
        ready=stats.ready,
        fds=len(stats.fds),
        timers=len(stats.pending_timers),
        switches=stats.switches,
    )


# -- run info -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GreenletInfo:
    """One greenlet as :func:`format_run_info` shows it."""

    #: ``greenlet "Greenlet-3"``, ``the main greenlet``, ``the hub``, or a raw greenlet's repr.
    name: str
    #: "running", "ready", "waiting" or "not started".
    state: str
    #: "fd", "timer", "event", "lock", "other", or None when not waiting.
    waiting_on: str | None
    #: A sentence: ``waiting for fd 7 to be readable, called at app.py:12``.
    description: str
    #: Where it was spawned from (``track_spawning``), or None.
    spawned_at: str | None
    #: Its stack, outermost frame first (``traceback.format_stack`` lines); empty while it
    #: runs in another thread or has not started.
    stack: list[str]


def greenlet_info(g: Any, hub: Hub | None = None) -> GreenletInfo:
    """Name, state, spawning site and stack of one greenlet of ``hub``."""
    wait = describe_wait(g, hub)
    frame = g.gr_frame
    if frame is None and g is getcurrent():
        frame = sys._getframe(1)
    return GreenletInfo(
        name=greenlet_name(g, hub),
        state=wait.state,
        waiting_on=wait.kind,
        description=wait.description,
        spawned_at=spawned_at(g),
        stack=format_frames(frame),
    )


def _hubs() -> list[Hub]:
    return [obj for obj in gc.get_objects() if isinstance(obj, Hub) and not obj.dead]


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.rstrip("\n").split("\n")]


def format_run_info(thread_stacks: bool = True, greenlet_stacks: bool = True) -> list[str]:
    """Lines describing every OS thread and every live greenlet of every hub of this process.

    Each thread: its ident, name and stack. Each hub: its statistics, then each greenlet of its
    thread with its state (what it waits on), where it was spawned (with
    :func:`track_spawning`) and its stack.
    """
    lines = [f"*** greenpatch run info: process {os.getpid()}"]
    names = {t.ident: t.name for t in threading.enumerate()}
    me = get_ident()  # the OS thread's, even when threading is patched
    if thread_stacks:
        lines.append("*** Threads")
        for ident, frame in sorted(sys._current_frames().items()):
            here = " (this thread)" if ident == me else ""
            lines.append(
                f"Thread {ident:#x} {names.get(ident, '(not a threading.Thread)')!r}{here}:"
            )
            lines += _indent("".join(format_frames(frame)), "  ")
            del frame
    for h in _hubs():
        stats = h.statistics()
        greenlets = hub_greenlets(h)
        lines.append(
            f"*** Hub of thread {h.thread_ident:#x}: {len(greenlets)} greenlets, "
            f"{stats.ready} ready, {len(stats.pending_timers)} timers pending, "
            f"{len(stats.fds)} fds registered, {stats.switches} switches"
        )
        for g in greenlets:
            info = greenlet_info(g, h)
            lines.append(f"{info.name}: {info.description}")
            if info.name.startswith("greenlet") or info.name.startswith("<"):
                lines.append(f"  {g!r}")
            if info.spawned_at is not None:
                lines += _indent(info.spawned_at, "  ")
            if greenlet_stacks and info.stack:
                lines.append("  stack (most recent call last):")
                lines += _indent("".join(info.stack), "  ")
    return lines


def print_run_info(file: TextIO | None = None, **options: bool) -> None:
    """Print :func:`format_run_info` to ``file`` (``sys.stderr`` by default)."""
    stream = sys.stderr if file is None else file
    stream.write("\n".join(format_run_info(**options)) + "\n")
    stream.flush()


# -- assert_switches ----------------------------------------------------------------------------


class _SwitchWatch:
    """A greenlet trace function counting switches in one thread and timing the gaps."""

    def __init__(self, hub: Hub, limit: float | None, hub_only: bool) -> None:
        self.hub = hub
        self.limit = limit
        self.hub_only = hub_only
        self.ident = hub.thread_ident
        self.switches = 0  # two per switch: even, as the watchdog expects of a busy hub
        self.last = monotonic()
        #: The stack the watchdog thread saw while the thread was blocked, and for how long.
        self.sampled: tuple[float, str, list[str]] | None = None
        self.worst: tuple[float, str, list[str]] | None = None
        self.previous: Any = None

    def count(self) -> int:
        return self.switches

    def __call__(self, event: str, args: Any) -> None:
        if self.previous is not None:
            self.previous(event, args)
        if event not in ("switch", "throw") or get_ident() != self.ident:
            return
        origin, target = args
        if self.hub_only and target is not self.hub:
            return
        self.switches += 2
        now = monotonic()
        self._gap(now - self.last, origin, origin.gr_frame)
        self.last = now

    def on_block(self, hub: Hub, frame: Any, seconds: float) -> None:
        # In the watchdog thread, while the body's thread is still blocked: frame is the
        # blocking code itself.
        g = running_greenlet(hub)
        who = "an unknown greenlet" if g is None else greenlet_name(g, hub)
        if self.sampled is None or seconds > self.sampled[0]:
            self.sampled = (seconds, who, format_frames(frame))

    def _gap(self, gap: float, who: Any, frame: Any) -> None:
        if self.limit is None or gap <= self.limit:
            return
        if self.worst is None or gap > self.worst[0]:
            self.worst = (gap, greenlet_name(who, self.hub), format_frames(frame))


@contextmanager
def assert_switches(
    max_blocking_time: float | None = None, hub_only: bool = False
) -> Iterator[None]:
    """Fail (AssertionError) when the body keeps the hub from running.

    With ``max_blocking_time`` None, the body must switch at least once (to the hub, if
    ``hub_only``; to any greenlet otherwise). With a number of seconds, no greenlet of this
    thread may run longer than that without switching, from the start of the body to its end;
    the error names the greenlet that ran longest and the stack where it finally switched out.
    The check traces greenlet switches only while the body runs.
    """
    hub = get_hub()
    watch = _SwitchWatch(hub, max_blocking_time, hub_only)
    dog = None
    if max_blocking_time is not None:
        # A watchdog thread samples the switch counter, to catch the blocking code in the act.
        dog = Watchdog(hub, max_blocking_time, progress=watch.count, on_block=watch.on_block)
    watch.previous = settrace(watch)
    if dog is not None:
        dog.start()
    try:
        yield
    finally:
        settrace(watch.previous)
        if dog is not None:
            dog.stop()
    watch._gap(monotonic() - watch.last, getcurrent(), sys._getframe(2))
    if max_blocking_time is None:
        if watch.switches == 0:
            target = "the hub" if hub_only else "another greenlet"
            site = "".join(format_frames(sys._getframe(2))[-1:]).rstrip()
            raise AssertionError(f"the block never switched to {target}:\n{site}")
        return
    if watch.worst is not None:
        gap, who, stack = watch.worst
        if watch.sampled is not None:
            _, who, stack = watch.sampled
            where = "it was blocked at (most recent call last)"
        else:  # too short for the watchdog to see: where it switched out is the best we know
            where = "it switched out at (most recent call last)"
        raise AssertionError(
            f"{who} ran {gap:.3f} s without switching (limit {max_blocking_time:g} s); "
            f"{where}:\n" + "".join(stack)
        )
