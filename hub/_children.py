"""Waiting cooperatively for a child process to change state, without ever reaping it here.

Everything in greenpatch that waits for a child (``hub.os.waitpid`` and friends,
``hub.subprocess.Popen.wait``) is built the same way: *try first, wait second*. The caller
asks the kernel with ``WNOHANG`` (the stdlib's own call, so its result and its errors are the
stdlib's), and only when the child has not changed state yet does it wait here, on the hub,
until the child *may* have changed state. Then it asks again. Nothing in this module ever
collects an exit status: the one call that reaps is always the caller's own, for the pid or
pid group it asked about. That is what keeps a program that reaps its children itself (a
``waitpid`` loop of its own, a C library, ``SIGCHLD`` set to ``SIG_IGN``) safe from a watcher
that steals their statuses and leaves them ECHILD: gevent's SIGCHLD watcher calls
``waitpid(-1)`` and does exactly that (gevent issues 452, 857, 1573).

How the wait is done
====================

One child (``wait_child(pid)``), Linux 5.3+: a *pidfd* (``os.pidfd_open``) becomes readable
when the process exits. It is registered with the hub like any fd and awaited with
``Hub.wait_fd``; no thread, no signal handler, no polling. The pidfd is opened per wait and closed
(after ``notify_closing``) in the wait's ``finally``, so a greenlet killed while it waits leaves
no registration and no fd behind. A pidfd only reports exit, so waits for a stop or a continue
(``WUNTRACED``, ``WCONTINUED``) take the "any child" path below.

Where pidfds are refused (an old kernel: ENOSYS; a sandbox: EPERM; not Linux), the fallback is
driven by SIGCHLD: the first such wait in the main thread installs a SIGCHLD handler (chaining
to a Python handler that was there before) that wakes every hub with a waiting child; each
waiter then checks its own pid with ``waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT)``, which
looks at the status without collecting it. Because a SIGCHLD can be missed (another library
replaces the handler, the wait started outside the main thread), each such wait also re-checks
on a timer that backs off from 1 ms to 0.5 s: late in the worst case, never lost.

Any child (``wait_any``: ``waitpid(-1)``, ``waitpid(0)``, ``wait()``, ``wait3()``,
``waitid(P_ALL)``, or any wait for a stop): a pidfd cannot stand for "some child", and
polling ``waitpid(-1, WNOHANG)`` on SIGCHLD would be the very status-stealing loop avoided
above if it reaped anything but what the caller asked for. So the hub's thread pool runs a blocking
``waitid(idtype, id, flags | WNOWAIT)``, which returns as soon as a matching child is waitable
but leaves it unreaped; the greenlet then makes its own ``WNOHANG`` call. If the greenlet is
killed meanwhile, the worker's ``waitid`` reaps nothing, so no status is lost. The cost: one
worker thread per concurrent "any child" wait, which stays blocked until some matching child
changes state even if its greenlet was killed (a thread-pool job in flight, so the hub does not
declare a deadlock while it runs).
"""

from __future__ import annotations

import errno
import os
import signal
from typing import Any

from greenlet import getcurrent

from ._core import (
    PENDING,
    TIMEOUT,
    get_hub,
    monotonic,
    os_pidfd_open,
    os_waitid,
    signal_getsignal,
    signal_signal,
    wake,
)

__all__ = ["pidfd_supported", "wait_any", "wait_child"]

_WNOWAIT = getattr(os, "WNOWAIT", 0)
_WEXITED = getattr(os, "WEXITED", 0)
_WNOHANG = getattr(os, "WNOHANG", 1)
_P_PID = getattr(os, "P_PID", None)
# Errors that mean "this kernel or sandbox gives no pidfds": use the SIGCHLD fallback.
_NO_PIDFD = (errno.ENOSYS, errno.EPERM, errno.EACCES, errno.EINVAL)
# The fallback's re-check timer: first delay, growth factor, cap (seconds).
_RECHECK_FIRST, _RECHECK_GROWTH, _RECHECK_MAX = 0.001, 2.0, 0.5

_state = {
    "pidfd": os_pidfd_open is not None and os.environ.get("GREENPATCH_CHILD_WATCHER") != "sigchld"
}


def pidfd_supported() -> bool:
    """True while child waits use pidfds (False once the kernel refused one, or when the
    environment variable ``GREENPATCH_CHILD_WATCHER=sigchld`` selects the fallback)."""
    return bool(_state["pidfd"])


def wait_child(pid: int, timeout: float | None = None) -> bool:
    """Wait until process ``pid`` (a child of ours) may have exited; False if ``timeout`` passed.

    Never reaps: the caller asks ``waitpid(pid, WNOHANG)`` again afterwards. Returns at once
    when the process does not exist (any more), so that question gets the kernel's answer.
    """
    if _state["pidfd"]:
        try:
            fd = os_pidfd_open(pid)
        except ProcessLookupError:
            return True  # gone (reaped by somebody): the caller's waitpid says ECHILD
        except OSError as exc:
            if exc.errno in _NO_PIDFD:
                _state["pidfd"] = False
            elif exc.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            # Out of fds: this one wait takes the fallback (waitpid itself needs no fd).
        else:
            return _wait_pidfd(fd, timeout)
    return _watcher.wait(pid, timeout)


def _wait_pidfd(fd: int, timeout: float | None) -> bool:
    hub = get_hub()
    try:
        st = hub.fd_state(fd)
        return hub.wait_fd(st, False, timeout)
    finally:
        hub.notify_closing(fd)
        os.close(fd)


def wait_any(idtype: int, id: int, flags: int, timeout: float | None = None) -> bool:
    """Wait until a child matching ``waitid(idtype, id, flags)`` may be waitable, without
    reaping it (see the module docstring); False if ``timeout`` passed.

    Where ``os.waitid`` does not exist, the caller's own blocking call is the only correct way
    left: it returns True at once and the caller must not loop (see ``hub.os``).
    """
    if os_waitid is None:
        return True
    pool = get_hub().threadpool
    result = pool.spawn(_blocking_waitid, idtype, id, flags | _WNOWAIT)
    return result.wait(timeout)


def _blocking_waitid(idtype: int, id: int, flags: int) -> None:
    try:
        os_waitid(idtype, id, flags & ~_WNOHANG)
    except ChildProcessError:
        pass  # nothing to wait for: the caller's own call reports ECHILD


class _SigchldWatcher:
    """The fallback for one-child waits where pidfds are refused; see the module docstring."""

    def __init__(self) -> None:
        # hub -> {id(waiter entry): (entry, pid)}; only touched in each hub's own thread.
        self._waits: dict[Any, dict[int, tuple[list[Any], int]]] = {}
        self._installed = False
        self._previous: Any = None

    def _install(self) -> None:
        # Only the main thread may set a handler; elsewhere the re-check timer does the work.
        if self._installed or not hasattr(signal, "SIGCHLD"):
            return
        # The stdlib's getsignal, never a patched one: what the C level really calls (hub.signal's
        # trampoline, say) is what this handler must chain to.
        previous = signal_getsignal(signal.SIGCHLD)
        if previous is signal.SIG_IGN:
            return  # the kernel reaps every child itself: the caller's waitpid says ECHILD
        try:
            signal_signal(signal.SIGCHLD, self._on_sigchld)
        except ValueError:
            return  # not the main thread
        self._previous = previous if callable(previous) else None
        self._installed = True

    def _on_sigchld(self, signum: int, frame: Any) -> None:
        # A signal handler: runs in the main thread between any two bytecodes, maybe inside the
        # hub. It only queues, through run_threadsafe, which also wakes a hub asleep in epoll.
        for hub in list(self._waits):
            hub.run_threadsafe(self._check, hub)
        previous = self._previous
        if previous is not None:
            previous(signum, frame)

    def _check(self, hub: Any) -> None:
        waits = self._waits.get(hub)
        if not waits:
            return
        for w, pid in list(waits.values()):
            if w[1] is PENDING and _exited(pid):
                wake(hub, w, True)

    def wait(self, pid: int, timeout: float | None) -> bool:
        hub = get_hub()
        self._install()
        w = [getcurrent(), PENDING]
        waits = self._waits.setdefault(hub, {})
        deadline = None if timeout is None else monotonic() + timeout
        delay = _RECHECK_FIRST
        try:
            while True:
                # Registered first, then checked: a SIGCHLD after the check finds us.
                waits[id(w)] = (w, pid)
                if _exited(pid):
                    return True
                step = delay if deadline is None else min(delay, deadline - monotonic())
                if step <= 0:
                    return False
                if hub.suspend(w, step) is not TIMEOUT:
                    return True
                del waits[id(w)]
                w = [getcurrent(), PENDING]
                delay = min(delay * _RECHECK_GROWTH, _RECHECK_MAX)
        finally:
            waits.pop(id(w), None)
            if not waits:
                self._waits.pop(hub, None)


def _exited(pid: int) -> bool:
    """True if child ``pid`` has exited (its status stays uncollected) or is not ours at all."""
    try:
        if os_waitid is not None and _P_PID is not None:
            return os_waitid(_P_PID, pid, _WEXITED | _WNOHANG | _WNOWAIT) is not None
        # No waitid: a signal 0 tells whether the pid still exists (a zombie still does, so
        # this errs towards "not yet" and the re-check timer carries the wait).
        os.kill(pid, 0)
        return False
    except (ChildProcessError, ProcessLookupError):
        return True


_watcher = _SigchldWatcher()
