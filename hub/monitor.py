"""The blocking monitor: a watchdog thread reporting each time something keeps the hub from running.

    hub.monitor.start(max_blocking_time=0.1)      # or GREENPATCH_MAX_BLOCKING_TIME=0.1
    python -m monkeypatch --monitor 0.1 script.py

How it works, and why it is cheap
=================================

The hub's loop bumps one integer, ``Hub.loop_turns``, just before it polls IO and again right
after, so the counter is odd exactly while the hub sits in the poller (idle, which is fine) and
changes on every turn otherwise. That is the whole cost inside the loop, paid whether the monitor
is on or off: two integer increments per turn (a turn runs up to a thousand ready greenlets), no
per-switch hook, no ``greenlet.settrace``.

When the monitor is on, one watchdog OS thread per hub (started with the runtime's captured
``start_new_thread``, so it is a real thread even under ``patch_all()``) samples that counter
once per ``max_blocking_time`` (each sample takes the GIL from a busy hub: _watchdog.py says why
not more often). A counter that stays even and unchanged from one sample to the next, a limit
later, means the loop is stuck in one turn. That alone is not a block: a turn resumes up to a
thousand ready greenlets, each of which may work a little. So the watchdog also looks at which
greenlet runs: the outermost frame of the hub thread's current stack is the running greenlet's
first frame. Only when both stay the same from one sample to the next has one greenlet (or a
callback, or the main greenlet before the hub ever ran) been running without switching back: a
blocking call, or a long computation. The watchdog then takes that thread's current frame
(``sys._current_frames()``): as the hub's thread is still stuck, that frame *is* the blocking
code, so the stack reported is the one at the moment of blocking, not one sampled later. It
finds which greenlet runs (the one of that thread that is started, alive and not suspended) and
reports once; the next report needs the counter or the running greenlet to change first, so one
long block is one incident.

Off (the default) there is no thread and nothing to sample.

The report goes to ``stream`` (``sys.stderr`` at the time of the report by default) or, given a
``logger``, to ``logger.warning``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

from ._core import (
    Hub,
    allocate_lock,
    get_hub,
    get_ident,
    register_at_fork,
)
from ._watchdog import Watchdog

__all__ = ["ENV_VAR", "is_running", "start", "start_from_environment", "stop"]

#: The environment variable ``monkeypatch.patch_all()`` reads: seconds, e.g. ``0.1``.
ENV_VAR = "GREENPATCH_MAX_BLOCKING_TIME"
#: The limit when ``start()`` is given none and the environment sets none.
DEFAULT_MAX_BLOCKING_TIME = 0.1

_watchdogs: dict[int, Watchdog] = {}  # id(hub) -> its watchdog
_registry_lock = allocate_lock()


def start(
    max_blocking_time: float | None = None,
    *,
    stream: TextIO | None = None,
    logger: logging.Logger | None = None,
    hub: Hub | None = None,
) -> None:
    """Watch ``hub`` (the calling thread's by default): report every block longer than the limit.

    ``max_blocking_time`` in seconds; None reads :data:`ENV_VAR`, else 0.1. A report goes to
    ``stream`` (``sys.stderr`` when the report is written, by default), or to ``logger.warning``
    if a logger is given. Starting a monitored hub again replaces its settings.
    """
    if max_blocking_time is None:
        max_blocking_time = _from_environment() or DEFAULT_MAX_BLOCKING_TIME
    limit = float(max_blocking_time)
    if not limit > 0:
        raise ValueError(f"max_blocking_time must be positive, not {max_blocking_time!r}")
    if hub is None:
        hub = get_hub()
    dog = Watchdog(hub, limit, stream, logger)
    with _registry_lock:
        old = _watchdogs.pop(id(hub), None)
        _watchdogs[id(hub)] = dog
    if old is not None:
        old.stop()
    dog.start()


def stop(hub: Hub | None = None) -> None:
    """Stop watching ``hub`` (the calling thread's by default). When this returns the watchdog
    has finished (its OS thread exits right after). Does nothing if it is not watched."""
    if hub is None:
        hub = get_hub()
    with _registry_lock:
        dog = _watchdogs.pop(id(hub), None)
    if dog is not None:
        dog.stop()


def is_running(hub: Hub | None = None) -> bool:
    """True while ``hub`` (the calling thread's by default) is watched."""
    if hub is None:
        hub = get_hub()
    dog = _watchdogs.get(id(hub))
    return dog is not None and dog.hub_ref() is hub


def start_from_environment() -> bool:
    """Start the monitor for the calling thread's hub if :data:`ENV_VAR` asks for it.

    ``monkeypatch.patch_all()`` calls this. True if the monitor was started (not if it runs
    already). A value that is not a positive number is ignored with a warning on stderr.
    """
    limit = _from_environment()
    if limit is None or is_running():
        return False
    start(limit)
    return True


def _from_environment() -> float | None:
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    try:
        limit = float(value)
    except ValueError:
        limit = -1.0
    if not limit > 0:
        sys.stderr.write(f"greenpatch: ignoring {ENV_VAR}={value!r}: not a positive number\n")
        return None
    return limit


def _after_fork_in_child() -> None:
    # The watchdog threads did not survive the fork. The forking thread's hub lives on in the
    # child: watch it again; the other threads (and their hubs) are gone.
    with _registry_lock:
        dogs = list(_watchdogs.values())
        _watchdogs.clear()
    for dog in dogs:
        hub = dog.hub_ref()
        if hub is not None and not hub.dead and hub.thread_ident == get_ident():
            start(dog.limit, stream=dog.stream, logger=dog.logger, hub=hub)


if register_at_fork is not None:
    register_at_fork(after_in_child=_after_fork_in_child)
