"""Watchdog: a real thread that samples a hub's progress counter and reports when it stalls.

The mechanism behind ``hub.monitor`` (see its docstring for the design) and the watchdog of
``hub.util.assert_switches``.
"""

from __future__ import annotations

import logging
import sys
import weakref
from collections.abc import Callable
from typing import Any, TextIO

from ._core import Hub, allocate_lock, count_helper_thread, monotonic, start_new_thread
from ._introspect import format_frames, greenlet_name, running_greenlet

__all__ = ["Watchdog"]

# One sample per limit. A sample wakes the thread, and a thread that wakes takes the GIL: when
# the hub's thread holds it (it always does while busy), the watchdog waits for the switch
# interval (sys.getswitchinterval(), 5 ms) and then forces the hub's thread to hand it over, one
# forced GIL switch per sample, whose wall-clock price on a loaded machine is the OS's latency in
# scheduling the watchdog (the hub's thread waits until the watchdog has the GIL). Four samples
# per limit cost four of those per limit and bought a report after 1.25 to 1.5 x the limit; one
# sample per limit reports a block after 1 to 2 x the limit: it is reported at the second
# sample that finds the same turn of the loop and the same greenlet running, and two samples a
# limit apart inside one block prove it lasted at least the limit. gevent's monitor wakes as
# often. A block of between one and two limits is reported only when two samples fall in it.
_PERIODS_PER_LIMIT = 1
# A timed lock wait may return a hair early (the clocks' rounding): two samples one period apart
# count as a limit apart.
_ALMOST = 0.99


class Watchdog:
    """One real thread sampling one hub's ``loop_turns`` (or another progress counter).

    ``progress``: returns the counter to sample (``hub.loop_turns`` by default; odd means idle);
    ``on_block(hub, frame, seconds)``: called in the watchdog thread once per incident with the
    hub thread's current frame (the default writes the report). ``hub.util.assert_switches``
    uses both.
    """

    def __init__(
        self,
        hub: Hub,
        limit: float,
        stream: TextIO | None = None,
        logger: logging.Logger | None = None,
        progress: Callable[[], int] | None = None,
        on_block: Callable[[Hub, Any, float], None] | None = None,
    ) -> None:
        self.hub_ref = weakref.ref(hub)
        self.progress = progress
        self.on_block = on_block if on_block is not None else self._report
        self.limit = limit
        self.stream = stream
        self.logger = logger
        self.ident = hub.thread_ident
        # Released by stop() to end the wait between samples at once.
        self.wake = allocate_lock()
        self.wake.acquire()
        # Held while the thread runs; stop() waits on it so that no thread outlives stop().
        self.running = allocate_lock()
        self.running.acquire()
        self.stopped = False
        self.reports = 0

    def start(self) -> None:
        start_new_thread(self._run, ())

    def stop(self, wait: bool = True) -> None:
        self.stopped = True
        try:
            self.wake.release()
        except RuntimeError:
            pass  # released already
        if wait and self.running.acquire(True, 5.0):
            self.running.release()

    def _run(self) -> None:
        # A helper thread, never one that could wake the hub: counted as such, so a deadlocked
        # program still gets LoopExit while the monitor runs (as with thread-pool workers).
        count_helper_thread(+1)
        try:
            self._watch()
        finally:
            count_helper_thread(-1)
            self.running.release()

    def _watch(self) -> None:
        period = max(self.limit / _PERIODS_PER_LIMIT, 0.001)
        hub = self.hub_ref()
        if hub is None:
            return
        progress = self.progress
        last = hub.loop_turns if progress is None else progress()
        del hub
        since = monotonic()
        reported = False
        # Which greenlet ran at the last sample: its outermost frame. Kept by reference, not by
        # id: a finished greenlet's frame is freed and the next one's often takes its address.
        # (So a finished greenlet's first frame, with its locals, may live one period longer.)
        running: Any = None
        while not self.stopped:
            self.wake.acquire(True, period)
            if self.stopped:
                return
            hub = self.hub_ref()
            if hub is None or hub.dead:
                return
            turns = hub.loop_turns if progress is None else progress()
            now = monotonic()
            if turns & 1:  # polling: the hub is idle, nothing blocks it
                last, since, reported, running = turns, now, False, None
                del hub
                continue
            frame = sys._current_frames().get(self.ident)
            if frame is None:
                return  # the hub's thread has ended
            # A turn of the loop can take long without anything blocking: a thousand ready
            # greenlets each doing a little work. The loop counter cannot tell; which greenlet
            # runs can. The outermost frame of the thread's current stack is that greenlet's
            # first frame (greenlet starts each greenlet's stack afresh), so a new one means the
            # hub switched since the last sample.
            outer = frame
            while outer.f_back is not None:
                outer = outer.f_back
            if turns != last or outer is not running:
                last, running, since, reported = turns, outer, now, False
            elif not reported and now - since >= self.limit * _ALMOST:
                try:
                    self.on_block(hub, frame, now - since)
                except Exception:
                    pass  # a watchdog must never die of a report (a closed stream, say)
                reported = True
            del frame, outer, hub
        running = None

    def _report(self, hub: Hub, frame: Any, blocked: float) -> None:
        g = running_greenlet(hub)
        who = "an unknown greenlet" if g is None else greenlet_name(g, hub)
        code = frame.f_code
        text = (
            f"greenpatch monitor: the hub of thread {self.ident:#x} has not run for "
            f"{blocked:.3f} s (limit {self.limit:g} s): {who} blocks in {code.co_name}() at "
            f"{code.co_filename}:{frame.f_lineno}\n"
            f"Stack of {who} at the moment of blocking (most recent call last):\n"
            + "".join(format_frames(frame))
        )
        self.reports += 1
        if self.logger is not None:
            self.logger.warning("%s", text.rstrip("\n"))
            return
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(text)
        stream.flush()
