"""The stdlib callables the runtime itself relies on, captured once, at import.

``patch_all()`` replaces ``_thread``, ``threading``, ``queue``, ``os``, ``signal``, ``time`` and
``select`` functions with cooperative ones. The runtime must never use those replacements for
its own machinery: a thread-pool worker started with a patched ``start_new_thread`` would be a
greenlet of the very hub it is meant to unblock, a lock taken with a patched ``allocate_lock``
inside the hub would try to switch to the hub, and ``get_ident`` patched to answer per greenlet
would make every greenlet look like a thread of its own to the hub's thread checks.

So every such callable is read here, when ``hub`` is first imported, which is always before any
patching (``monkeypatch`` imports ``hub`` before it replaces anything). Code in ``hub/`` takes
these names from ``hub._core`` and never looks the stdlib's up at call time. ``monkeypatch``
keeps its own record of what it replaced (``get_original``); this module is the runtime's, and
it is never written to after import.
"""

from __future__ import annotations

import _thread
import os
import select
import signal
import threading
import time
from queue import SimpleQueue as _SimpleQueue
from typing import Any

# No __all__: hub._core's __init__ re-exports each name (and lists it there, once).

# Present on every platform and version we support.
#
# _thread: real OS threads (start_new_thread), real blocking locks (allocate_lock), the OS
# thread's identity and native id (never a greenlet's), storage per OS thread (_local, never per
# greenlet), and the count of live threads started through _thread (main thread excluded).
start_new_thread = _thread.start_new_thread
allocate_lock = _thread.allocate_lock
get_ident = _thread.get_ident
get_native_id = _thread.get_native_id
RealThreadLocal = _thread._local
thread_count = _thread._count
# queue.SimpleQueue: the C queue whose get() blocks the OS thread.
RealSimpleQueue = _SimpleQueue
# time, select, signal: the real sleep and clock, select(), and signal()/getsignal()/
# set_wakeup_fd() as the interpreter has them (hub.signal replaces the first two).
real_sleep = time.sleep
monotonic = time.monotonic
real_select = select.select
signal_signal = signal.signal
signal_getsignal = signal.getsignal
set_wakeup_fd = signal.set_wakeup_fd
#: The main OS thread's ident (threading.main_thread() is made at threading's import, before
#: any patching).
main_thread_ident: int = threading.main_thread().ident or 0

# Present on some platforms or versions only: None where this one lacks them.
#
# _thread.start_joinable_thread, _ThreadHandle and _shutdown are Python 3.13+; _set_sentinel
# (Python 3.10-3.12) is a lock the C code releases when the OS thread is gone.
start_joinable_thread: Any = getattr(_thread, "start_joinable_thread", None)
RealThreadHandle: Any = getattr(_thread, "_ThreadHandle", None)
thread_shutdown: Any = getattr(_thread, "_shutdown", None)
set_sentinel: Any = getattr(_thread, "_set_sentinel", None)
# select.poll (not on Windows).
real_poll: Any = getattr(select, "poll", None)
# os: fork and its hook, every wait for a child that hub.os replaces (POSIX; waitid and
# pidfd_open are Linux, macOS has no waitid before Python 3.13), and read (hub.os.read).
os_read: Any = os.read
register_at_fork: Any = getattr(os, "register_at_fork", None)
os_fork: Any = getattr(os, "fork", None)
os_forkpty: Any = getattr(os, "forkpty", None)
os_wait: Any = getattr(os, "wait", None)
os_waitpid: Any = getattr(os, "waitpid", None)
os_wait3: Any = getattr(os, "wait3", None)
os_wait4: Any = getattr(os, "wait4", None)
os_waitid: Any = getattr(os, "waitid", None)
os_pidfd_open: Any = getattr(os, "pidfd_open", None)
