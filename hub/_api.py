"""gevent's module-level helpers that work on any greenlet: kill, spawn_raw, the switch interval.

``Greenlet`` has methods for most of this; these functions exist for the greenlets that are not
``hub.Greenlet`` instances: the thread's main greenlet and the raw greenlets of
:func:`spawn_raw`, which have no ``kill()`` of their own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from greenlet import GreenletExit, getcurrent, greenlet

from ._core import get_hub, hub_of

__all__ = ["getswitchinterval", "kill", "setswitchinterval", "spawn_raw"]

#: How long a thread may hold the GIL before the interpreter offers it to another OS thread
#: (``sys.getswitchinterval``). Greenlets of one thread are not preempted: it only concerns the
#: hub's worker threads and other OS threads. gevent exports the same two names.
getswitchinterval = sys.getswitchinterval
setswitchinterval = sys.setswitchinterval


def kill(
    greenlet: greenlet,
    exception: BaseException | type[BaseException] = GreenletExit,
    block: bool = False,
    timeout: float | None = None,
) -> None:
    """Raise ``exception`` in ``greenlet`` soon; any greenlet, not only a ``hub.Greenlet``.

    Like gevent's ``kill``, asynchronous by default: the calling greenlet is not suspended, and
    the exception is raised in ``greenlet`` when the hub next runs it. With ``block``, wait (up to
    ``timeout``) until it is dead. A ``hub.Greenlet`` is killed with its own ``kill()`` (so one
    that never started never runs); a dead greenlet is left alone. Killing the calling greenlet
    raises ``exception`` here and now. A raw greenlet of another OS thread is killed by that
    thread's hub (safely, from any thread); ``block`` then waits on this thread's hub.
    """
    if greenlet.dead:
        return
    own_kill = getattr(greenlet, "kill", None)
    if own_kill is not None:
        own_kill(exception, block=block, timeout=timeout)
        return
    if greenlet is getcurrent():
        raise exception
    here = get_hub()
    # The throw must run in the greenlet's own thread, by its own hub: greenlet refuses a switch
    # into another thread's greenlet, so the caller's hub would only report that error.
    target_hub = hub_of(greenlet)
    if target_hub is None or target_hub is here:
        here.run_callback(_throw_if_alive, greenlet, exception)
    else:
        target_hub.run_threadsafe(_throw_if_alive, greenlet, exception)
    if block:
        _wait_dead(here, greenlet, timeout)


def _throw_if_alive(target: greenlet, exception: BaseException | type[BaseException]) -> None:
    # Runs in the hub. A greenlet that never started dies without running (greenlet's own rule);
    # an exception that escapes a raw greenlet lands in its parent, the hub, which reports it
    # unless it is GreenletExit.
    if not target.dead:
        target.throw(exception)


def _wait_dead(hub: Any, target: greenlet, timeout: float | None) -> None:
    # A raw greenlet has no links to wait on: poll it, on the hub's clock, a turn at a time.
    from ._greenlet import sleep

    deadline = None if timeout is None else hub.clock() + timeout
    delay = 0.0
    while not target.dead:
        if deadline is not None and hub.clock() >= deadline:
            return
        sleep(delay)
        delay = min(max(delay * 2, 0.001), 0.05)


def spawn_raw(function: Callable[..., Any], *args: Any, **kwargs: Any) -> greenlet:
    """Run ``function(*args, **kwargs)`` in a plain ``greenlet.greenlet``, started soon.

    The cheapest way to run something concurrently: no result, no links, no join. The greenlet's
    parent is the hub, so an exception escaping ``function`` is printed by the hub (GreenletExit
    is not), and the loop goes on. Use :func:`kill` to kill it.
    """
    if not callable(function):
        raise TypeError(f"expected a callable, not {function!r}")
    hub = get_hub()
    run = partial(function, *args, **kwargs) if args or kwargs else function
    g = greenlet(run, parent=hub)
    g._hub = hub  # type: ignore[attr-defined]  # get_hub()'s fast path (see hub._core._hub)
    hub.run_callback(g.switch)
    return g
