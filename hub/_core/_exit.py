"""Interpreter exit with hubs running in daemon threads: park them before finalization.

Why a daemon thread's hub crashed the process at exit
=====================================================

When the main thread finishes, CPython (3.10 to 3.13) waits for the non-daemon threads, runs the
``atexit`` callbacks, and then marks the runtime as finalizing. From that moment any other thread
that tries to take the GIL back, for instance when ``epoll_wait`` returns in a hub, does not
return to Python: ``take_gil`` calls ``PyThread_exit_thread()``, which is ``pthread_exit()``. On
Linux that *unwinds the C stack* with a forced-unwind exception, running every C++ destructor on
the way (CPython 3.14 hangs such threads instead, for exactly this reason).

A greenlet other than the thread's main greenlet runs on a stack slice that greenlet copies in
and out. Its bottom C++ frames (greenlet's ``g_initialstub`` and ``inner_bootstrap``) were built
when the greenlet started, on top of whatever the main greenlet had on the stack at that moment;
the memory above them now belongs to the main greenlet's *current* frames. Unwinding out of the
greenlet walks into those frames and runs destructors of objects that are not there (greenlet's
``OwnedReference<PyGreenlet>`` read a pointer of value 2 in the crash this module fixes), without
the GIL, during finalization: SIGSEGV, or an abort when greenlet's own ``catch (...)`` turns the
unwind into a fatal error. A thread unwound while its *main* greenlet runs is safe: those frames
are the thread's real stack, as for any plain thread.

The hub greenlet is what a daemon thread is running nearly all the time (it blocks in
``epoll_wait`` there), so a daemon thread that waits cooperatively is exactly the case that
crashed, every time.

What we do
==========

An ``atexit`` callback, registered when the core is imported (so it runs after the callbacks the
program registers later: ``atexit`` runs them last-in, first-out, and daemon threads may still be
needed by those), asks every other thread's hub to *park*: through ``run_threadsafe``, the hub
runs ``_park`` in its own thread, which blocks all signals for that thread and then waits for
ever on a lock nobody releases, with the GIL released. A parked thread never asks for the GIL
again, so it is never unwound; the process exits around it, as it would around a daemon thread
sleeping in ``time.sleep``. (Blocking the signals matters: a signal handled in that thread would
make the lock wait return to the interpreter, and so take the GIL.)

The callback waits for each hub to confirm that it parked, at most ``_PARK_BUDGET`` seconds in
all. A hub whose thread's main greenlet is running (the thread is in plain blocking code, not in
the hub) is not waited for: unwinding that thread is safe, and it parks anyway if it switches
to its hub before the runtime finalizes. What is left is a daemon thread stuck in a
non-cooperative blocking call *inside a spawned greenlet*: it cannot be reached, and greenlet
cannot be unwound safely there; the callback gives up on it after the budget.
"""

from __future__ import annotations

import atexit
import signal
from typing import Any

from ._originals import allocate_lock, get_ident, monotonic
from ._registry import live_hubs

__all__ = ["park_other_hubs"]

#: The longest the exit waits for other threads' hubs to park, in seconds.
_PARK_BUDGET = 1.0

_pthread_sigmask: Any = getattr(signal, "pthread_sigmask", None)
_ALL_SIGNALS: Any = (
    signal.valid_signals() if hasattr(signal, "valid_signals") else set(range(1, signal.NSIG))
)


def _park(parked: Any) -> None:
    """Run in a hub, as a callback: block this thread for good, with the GIL released."""
    if _pthread_sigmask is not None:
        try:
            _pthread_sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
        except (OSError, ValueError):
            pass
    never = allocate_lock()
    never.acquire()
    parked.release()
    never.acquire()  # returns only if the process outlives this module: it does not


def _root_is_running(hub: Any) -> bool:
    # A greenlet's gr_frame is None while it runs (its frames live in the thread state then),
    # and its suspended top frame otherwise. The hub's parent is the thread's main greenlet.
    return getattr(hub.parent, "gr_frame", None) is None


def park_other_hubs(budget: float = _PARK_BUDGET) -> None:
    """Park the hub of every other live thread (see the module docstring); called at exit."""
    me = get_ident()
    waits = []
    for hub in live_hubs():
        if hub.thread_ident == me or getattr(hub, "_destroyed", False):
            continue
        parked = allocate_lock()
        parked.acquire()
        hub.run_threadsafe(_park, parked)
        waits.append((hub, parked))
    deadline = monotonic() + budget
    for hub, parked in waits:
        if _root_is_running(hub):
            continue
        remaining = deadline - monotonic()
        parked.acquire(True, remaining if remaining > 0 else 0)


atexit.register(park_other_hubs)
