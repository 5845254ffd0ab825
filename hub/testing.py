"""Helpers for testing code that runs on the hub: a virtual clock, a fresh hub, a pytest plugin.

``pytest -p hub.testing`` loads the plugin in ``hub._pytest_plugin``: a fresh hub per test, a
leak check, the ``clock`` fixture and LoopExit/blocking reports (docs/diagnostics.md). This
module itself needs no pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ._core import Hub, get_hub_if_exists, set_hub

__all__ = ["VirtualClock", "fresh_hub", "virtual_time"]

#: Loaded by pytest when this module is a plugin (``-p hub.testing``); ignored otherwise.
pytest_plugins = ["hub._pytest_plugin"]


class VirtualClock:
    """A hub clock that stands still while anything can run, then jumps to the next timer.

    Under it, ``sleep(3600)`` returns at once yet in the right order relative to every other
    timer, so timeout tests are instant and do not depend on the machine's load. This is what
    trio calls an *autojump* clock (``MockClock(autojump_threshold=0)``): the hub jumps as soon as
    every greenlet waits and no IO is ready. Real IO still takes real time: the hub polls IO
    first, and while an fd is awaited and nothing is ready it waits for it only until the next
    timer is due, in virtual time, which passes at once.

    Pass it to ``Hub(clock)``, or use :func:`virtual_time` or the pytest ``clock`` fixture.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def jump(self, seconds: float) -> None:
        """Move the clock forward (the hub calls this when it would otherwise sleep)."""
        if seconds > 0:
            self._now += seconds

    def __repr__(self) -> str:
        return f"<VirtualClock now={self._now:.6f}>"


@contextmanager
def fresh_hub(clock: object = None) -> Iterator[Hub]:
    """Run the block on a new hub for the calling thread; destroy it afterwards.

    Greenlets left behind by the block are dropped with the hub, so one test cannot disturb the
    next.
    """
    old = get_hub_if_exists()
    hub = Hub(clock)  # type: ignore[arg-type]
    set_hub(hub)
    try:
        yield hub
    finally:
        hub.destroy()
        set_hub(old)


@contextmanager
def virtual_time(start: float = 0.0) -> Iterator[VirtualClock]:
    """Run the block on a fresh hub driven by a :class:`VirtualClock`; yields the clock."""
    clock = VirtualClock(start)
    with fresh_hub(clock):
        yield clock
