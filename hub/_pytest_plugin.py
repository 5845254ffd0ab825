"""The pytest plugin behind ``pytest -p hub.testing``.

What it gives every test:

- a fresh hub (the ``greenpatch_hub`` fixture, autouse): greenlets one test leaves behind never
  run in the next;
- a leak check when the test is done: greenlets still alive, fds still registered with the hub,
  timers still pending, each named, fail the test (at teardown; not a test that failed
  already). Turn it off for one test with ``@pytest.mark.greenpatch_allow_leaks``, or for a
  suite with the ini option ``greenpatch_check_leaks = false``;
- when a test fails with ``hub.LoopExit``, the run info (what every greenlet waited on) in a
  report section, and with ``greenpatch_max_blocking_time = 0.1`` the blocking monitor's
  reports of the test (a section named "greenpatch monitor");
- the ``clock`` fixture (also ``virtual_clock``): a fresh hub driven by a
  :class:`hub.testing.VirtualClock`, so timers fire at once and in order.

Imports pytest: load it only as a pytest plugin (``hub.testing`` names it in ``pytest_plugins``).
"""

from __future__ import annotations

import gc
import io
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from greenlet import greenlet

from . import monitor, util
from ._core import Callback, Hub, LoopExit, get_hub_if_exists
from ._introspect import describe_wait, greenlet_name
from .testing import VirtualClock, fresh_hub

_ALLOW_LEAKS = "greenpatch_allow_leaks"
# A test's greenlets get this many turns of the hub to finish what is queued already (a kill
# with block=False, a last callback) before what is left counts as leaked.
_GRACE_TURNS = 10
_monitor_key = pytest.StashKey[io.StringIO]()
_call_failed_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "greenpatch_check_leaks",
        type="bool",
        default=True,
        help="fail a test that leaves greenlets, registered fds or pending timers on its hub",
    )
    parser.addini(
        "greenpatch_max_blocking_time",
        default="",
        help="run hub.monitor during each test with this limit (seconds); reports are shown "
        "in a 'greenpatch monitor' section",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{_ALLOW_LEAKS}: skip greenpatch's leak check for this test"
    )


# -- the leak check -----------------------------------------------------------------------------


def leaks(hub: Hub) -> list[str]:
    """What ``hub`` still holds: live greenlets, registered fds, pending timers, one line each.

    The thread's main greenlet and the hub are not leaks, nor a raw greenlet under no hub; a
    greenlet created but never started is not either (it can never run); an fd counts while an
    open socket owns it.
    """
    lines = []
    left = []
    stats = hub.statistics()
    now = hub.clock()
    # A greenlet's own timer: its sleep, its wait's timeout, or the start of spawn_later().
    due = {
        id(t.entry[0]): t.when - now
        for t in stats.pending_timers
        if not isinstance(t.entry, Callback)
    }
    # A hub never switched to has run no greenlet, and one spawned on it is queued (``ready``,
    # which _settle ran) or waits for its start (a timer): else there is nothing to look for.
    ran = hub.dead or hub.gr_frame is not None or greenlet.__bool__(hub)
    for g in _live_greenlets(hub) if ran or stats.pending_timers else ():
        wait = describe_wait(g, hub)
        if wait.state == "not started":
            continue
        left.append(g)
        what = wait.description
        if wait.state == "ready" and id(g) in due and g.gr_frame is None:
            what = f"scheduled to start in {due[id(g)]:.3f} s (spawn_later, a timer)"
        lines.append(f"{greenlet_name(g, hub)} {what}: {g!r}")
    # Only an fd a live, open socket owns: an fd closed without Hub.notify_closing (a raw fd
    # given to hub.wait_read, a database driver's own socket) stays in the hub's table harmlessly
    # until reused. An fd that is closed needs no look for its owner (a pass over every object).
    open_fds = [fd for fd in stats.fds if _is_open(fd)]
    if open_fds:
        owners: dict[int, str] = {}
        for obj in gc.get_objects():
            if isinstance(obj, socket.socket):
                try:
                    owners.setdefault(obj.fileno(), repr(obj))
                except Exception:
                    continue
        for fd in open_fds:
            if fd in owners:
                lines.append(f"fd {fd} registered with the hub, still open: {owners[fd]}")
    for timer in stats.pending_timers:
        entry = timer.entry
        if entry[0] in left:
            continue  # the timeout of a greenlet named above
        if isinstance(entry, Callback):
            what = f"runs {getattr(entry.fn, '__qualname__', entry.fn)!r}"
        else:
            what = f"wakes {entry[0]!r}"
        lines.append(f"timer due in {timer.when - now:.3f} s {what}")
    return lines


def _live_greenlets(hub: Hub) -> list[Any]:
    """The live greenlets of ``hub``: what :func:`hub._introspect.hub_greenlets` finds, less the
    hub, the main greenlet and raw greenlets under no hub, cheaper.

    Every started greenlet refers to its thread's main greenlet (and a Greenlet to its parent,
    the hub), so they are among the referrers of those two: one ``gc.get_referrers`` pass, all
    in C, where a Python loop over ``gc.get_objects()`` cost the project's suite several times
    more per test.
    """
    root = hub.parent
    found = []
    for obj in gc.get_referrers(hub, root):
        if not isinstance(obj, greenlet) or isinstance(obj, Hub) or obj is root or obj.dead:
            continue  # (another Hub of the thread: the one to restore after the test, say)
        owner = obj.parent
        while owner is not None and not isinstance(owner, Hub):
            owner = owner.parent
        # On this hub. (Not a raw greenlet of the thread under no hub at all: one left by an
        # earlier test would fail every test after it.)
        if owner is hub:
            found.append(obj)
    return found


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _settle(hub: Hub) -> None:
    """Let queued work run a few turns (the caller is the thread's main greenlet)."""
    from ._greenlet import sleep

    for _ in range(_GRACE_TURNS):
        if not hub.statistics().ready:
            return
        sleep(0)


@contextmanager
def _test_hub(request: pytest.FixtureRequest, clock: Any = None) -> Iterator[Hub]:
    """A fresh hub for the test, checked for leaks and blocking when the test is done."""
    config = request.config
    check = config.getini("greenpatch_check_leaks") and not request.node.get_closest_marker(
        _ALLOW_LEAKS
    )
    limit = str(config.getini("greenpatch_max_blocking_time")).strip()
    with fresh_hub(clock) as hub:
        reports = None
        if limit:
            reports = request.node.stash.setdefault(_monitor_key, io.StringIO())
            monitor.start(float(limit), stream=reports, hub=hub)
        try:
            yield hub
            # A test that failed already is not also told about what it left behind: its
            # greenlets are most often stuck because of that failure.
            if check and not request.node.stash.get(_call_failed_key, False):
                _settle(hub)
                left = leaks(hub)
                if left:
                    pytest.fail(
                        "greenpatch: the test left work behind on its hub:\n  "
                        + "\n  ".join(left)
                        + f"\n(mark the test @pytest.mark.{_ALLOW_LEAKS} to allow it)",
                        pytrace=False,
                    )
        finally:
            if reports is not None:
                monitor.stop(hub)
    # The greenlets the test left behind die with the hub: collect them now, so that their
    # ``finally`` blocks (GreenletExit is thrown into a collected greenlet) and the
    # ResourceWarnings of their sockets belong to this test, not to whichever test runs next.
    gc.collect()


@pytest.fixture(autouse=True)
def greenpatch_hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    """A fresh hub for each test (autouse), checked for leaks when the test ends."""
    with _test_hub(request) as hub:
        yield hub


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Iterator[VirtualClock]:
    """A VirtualClock driving a fresh hub for the test: timers fire at once, in order."""
    c = VirtualClock()
    with _test_hub(request, c):
        yield c


@pytest.fixture
def virtual_clock(clock: VirtualClock) -> VirtualClock:
    """The same as ``clock``, under a name less likely to clash with a project's own."""
    return clock


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the run info to a LoopExit failure, and the monitor's reports to the test."""
    outcome: Any = yield
    report = outcome.get_result()
    failed = call.excinfo is not None and call.excinfo.errisinstance(LoopExit)
    if failed and get_hub_if_exists() is not None:
        text = "\n".join(util.format_run_info(thread_stacks=False))
        report.sections.append(("greenpatch run info at LoopExit", text))
    if call.when == "call":
        item.stash[_call_failed_key] = report.failed
        reports = item.stash.get(_monitor_key, None)
        if reports is not None and reports.getvalue():
            report.sections.append(("greenpatch monitor", reports.getvalue()))
