"""Cooperative ``os`` process functions: waits for children, fork, posix_spawn.

``waitpid``, ``wait``, ``wait3``, ``wait4`` and ``waitid`` keep the stdlib's signatures, results
and errors: each first makes the stdlib's own call with ``WNOHANG`` added, returns what it
gives if a child was ready (or raises what it raised: ``ChildProcessError`` for a pid that is
not our child), and otherwise waits on the hub until a matching child may have changed state,
then asks again (``hub._children`` says how, and why no status is ever collected behind the
caller's back). A call that already has ``WNOHANG`` goes straight to the stdlib's function.

``read`` waits on the hub while a *blocking* fd (a pipe, a FIFO, a terminal, a socket) has
nothing to read, so the other greenlets of the thread run meanwhile (a green thread reading a
pipe that another green thread writes, CPython's test_thread.test_forkinthread), then makes the
stdlib's call. Whether there is something to read is asked with one zero-timeout poll first; an
fd that is ready, non-blocking (whose EAGAIN is the caller's business), read from the hub
itself, or read in a thread without a hub (nobody else to run there) goes straight to the
stdlib's call. ``os.write`` stays the stdlib's: a pipe write that does not fit blocks the
thread (docs/subprocess.md, "Known limits").

``fork`` and ``forkpty`` are the stdlib's: the hub re-initialises itself in the child through
``os.register_at_fork``, so every fork (``os.fork``, multiprocessing, a C extension that runs
Python's fork hooks) gets a working hub in the child. ``posix_spawn``/``posix_spawnp`` do not
block (the kernel returns once the child exists), so they are the stdlib's too; the child they
start is awaited like any other.
"""

from __future__ import annotations

import os as _os
from typing import Any

from greenlet import getcurrent as _getcurrent

from ._children import wait_any, wait_child
from ._core import (
    get_hub_if_exists,
    os_fork,
    os_forkpty,
    os_read,
    os_wait3,
    os_wait4,
    os_waitid,
    os_waitpid,
    poll_now,
    reinit,
)
from ._io_waits import wait_read

__all__ = [
    "fork",
    "forkpty",
    "posix_spawn",
    "posix_spawnp",
    "read",
    "wait",
    "wait3",
    "wait4",
    "waitid",
    "waitpid",
]

# The stdlib's functions are hub._core's, captured before any patching (a patched os.waitpid
# is this module's); the constants are read here.
_WNOHANG = getattr(_os, "WNOHANG", 1)
_WUNTRACED = getattr(_os, "WUNTRACED", 0)
_WCONTINUED = getattr(_os, "WCONTINUED", 0)
_WEXITED = getattr(_os, "WEXITED", 4)
_WSTOPPED = getattr(_os, "WSTOPPED", 2)
_P_PID = getattr(_os, "P_PID", 1)
_P_PGID = getattr(_os, "P_PGID", 2)
_P_ALL = getattr(_os, "P_ALL", 0)
_P_PIDFD = getattr(_os, "P_PIDFD", None)
_POLLIN = 1  # select.POLLIN (the same on every platform that has poll)
_get_blocking = _os.get_blocking

#: The stdlib's ``os.posix_spawn``: it returns as soon as the child exists.
posix_spawn: Any = getattr(_os, "posix_spawn", None)
#: The stdlib's ``os.posix_spawnp``.
posix_spawnp: Any = getattr(_os, "posix_spawnp", None)


def fork() -> int:
    """``os.fork``: 0 in the child, whose hub is re-initialised (a fresh epoll instance and
    wake-up fd, the fds it knew registered again, thread-pool jobs of the parent failed), and
    the child's pid in the parent. The hub's ``os.register_at_fork`` hook does that work for
    every fork Python makes; :func:`hub.reinit` repeats it only if that hook did not run."""
    pid = os_fork()
    if pid == 0:
        reinit()
    return pid


def forkpty() -> tuple[int, int]:
    """``os.forkpty``: (0, -1) in the child, whose hub is re-initialised as after
    :func:`fork`; (child pid, fd of the pseudo-terminal's controlling end) in the parent."""
    pid, fd = os_forkpty()
    if pid == 0:
        reinit()
    return pid, fd


def read(fd: int, length: int, /) -> bytes:
    """``os.read``: at most ``length`` bytes of ``fd``, b"" at its end; on a blocking fd with
    nothing to read yet, the greenlet waits on the hub first (see the module doc). Results and
    errors are the stdlib's call's."""
    if type(fd) is int and fd >= 0 and not poll_now(fd, _POLLIN):
        hub = get_hub_if_exists()
        if hub is not None and _getcurrent() is not hub and _get_blocking(fd):
            _wait_readable(hub, fd)
    return os_read(fd, length)


def _wait_readable(hub: Any, fd: int) -> None:
    """Wait until ``fd`` may be readable. An fd the hub did not know before is forgotten again
    once nobody waits on it: the caller owns it and closes it with ``os.close``, which the hub
    never hears of, so a registration left behind would outlive the fd."""
    known = hub.fd_known(fd)
    try:
        wait_read(fd)
    finally:
        if not known:
            stats = hub.fd_statistics(fd)
            if stats is not None and not stats.readers and not stats.writers:
                hub.notify_closing(fd)  # nobody to wake: it only unregisters


def _target(pid: int) -> tuple[int, int]:
    """waitpid's pid argument as waitid's (idtype, id)."""
    if pid > 0:
        return _P_PID, pid
    if pid == 0:
        return _P_PGID, _os.getpgrp()
    if pid == -1:
        return _P_ALL, 0
    return _P_PGID, -pid


def _waitid_flags(options: int) -> int:
    """waitpid options as the waitid flags that wake for the same state changes."""
    flags = _WEXITED
    if options & _WUNTRACED:
        flags |= _WSTOPPED
    if options & _WCONTINUED:
        flags |= _WCONTINUED
    return flags


def _wait_for(pid: int, options: int) -> bool:
    """Wait until a child matching waitpid(pid, options) may be ready; False: make the blocking
    call instead (no waitid on this platform)."""
    if pid > 0 and not options & (_WUNTRACED | _WCONTINUED):
        wait_child(pid)  # a pidfd reports exit only
        return True
    idtype, id_ = _target(pid)
    return wait_any(idtype, id_, _waitid_flags(options)) and os_waitid is not None


def _waiting(call: Any, args: tuple[Any, ...], pid: int, options: int) -> Any:
    """``call(*args, options)`` (waitpid, wait3, wait4), waiting on the hub between tries."""
    if options & _WNOHANG:
        return call(*args, options)
    while True:
        result = call(*args, options | _WNOHANG)
        if result[0] != 0:
            return result
        if not _wait_for(pid, options):
            return call(*args, options)


def waitpid(pid: int, options: int, /) -> tuple[int, int]:
    """``os.waitpid``, waiting on the hub instead of blocking the thread (see the module doc)."""
    return _waiting(os_waitpid, (pid,), pid, options)


def wait() -> tuple[int, int]:
    """``os.wait``: any child's exit, waiting on the hub."""
    return _waiting(os_waitpid, (-1,), -1, 0)


def wait3(options: int) -> tuple[int, int, Any]:
    """``os.wait3``: (pid, status, rusage), waiting on the hub unless ``options`` has WNOHANG."""
    return _waiting(os_wait3, (), -1, options)


def wait4(pid: int, options: int) -> tuple[int, int, Any]:
    """``os.wait4``: (pid, status, rusage) of ``pid``, waiting on the hub unless WNOHANG."""
    return _waiting(os_wait4, (pid,), pid, options)


def waitid(idtype: int, id: int, options: int, /) -> Any:
    """``os.waitid``, waiting on the hub unless ``options`` has WNOHANG."""
    if options & _WNOHANG:
        return os_waitid(idtype, id, options)
    while True:
        result = os_waitid(idtype, id, options | _WNOHANG)
        if result is not None:
            return result
        exit_only = not options & (_WSTOPPED | _WCONTINUED)
        if idtype == _P_PIDFD and exit_only:
            wait_read(id)  # the pidfd itself becomes readable at exit
        elif idtype == _P_PID and exit_only:
            wait_child(id)
        else:
            wait_any(idtype, id, options)
