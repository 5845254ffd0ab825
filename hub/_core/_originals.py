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

__all__ = [
    "RealSimpleQueue",
    "RealThreadHandle",
    "RealThreadLocal",
    "allocate_lock",
    "get_ident",
    "get_native_id",
    "main_thread_ident",
    "monotonic",
    "os_fork",
    "os_waitpid",
    "real_poll",
    "real_select",
    "real_sleep",
    "register_at_fork",
    "set_sentinel",
    "set_wakeup_fd",
    "signal_signal",
    "start_joinable_thread",
    "start_new_thread",
    "thread_count",
    "thread_shutdown",
]

#: ``_thread.start_new_thread``: starts a real OS thread.
start_new_thread = _thread.start_new_thread
#: ``_thread.start_joinable_thread`` (Python 3.13+), or None.
start_joinable_thread: Any = getattr(_thread, "start_joinable_thread", None)
#: ``_thread.allocate_lock``: a real, blocking OS lock.
allocate_lock = _thread.allocate_lock
#: ``_thread.get_ident``: the OS thread's identity, never a greenlet's.
get_ident = _thread.get_ident
#: ``_thread.get_native_id``: the OS thread's native id.
get_native_id = _thread.get_native_id
#: ``_thread._set_sentinel`` (Python 3.10-3.12), or None: a lock the C code releases when the
#: OS thread is gone.
set_sentinel: Any = getattr(_thread, "_set_sentinel", None)
#: ``_thread._ThreadHandle`` and ``_thread._shutdown`` (Python 3.13+), or None.
RealThreadHandle: Any = getattr(_thread, "_ThreadHandle", None)
thread_shutdown: Any = getattr(_thread, "_shutdown", None)
#: The main OS thread's ident (threading.main_thread() is made at threading's import, before
#: any patching).
main_thread_ident: int = threading.main_thread().ident or 0
#: ``_thread._count``: live threads started through ``_thread`` (the main thread excluded).
thread_count = _thread._count
#: ``_thread._local``: storage per OS thread (never per greenlet).
RealThreadLocal = _thread._local
#: ``queue.SimpleQueue``: the C queue whose ``get`` blocks the OS thread.
RealSimpleQueue = _SimpleQueue
#: ``time.sleep`` and ``time.monotonic``.
real_sleep = time.sleep
monotonic = time.monotonic
#: ``select.select`` and ``select.poll`` (None where the platform lacks poll).
real_select = select.select
real_poll: Any = getattr(select, "poll", None)
#: ``os.fork``, ``os.waitpid`` and ``os.register_at_fork`` (None where the platform lacks them).
os_fork: Any = getattr(os, "fork", None)
os_waitpid: Any = getattr(os, "waitpid", None)
register_at_fork: Any = getattr(os, "register_at_fork", None)
#: ``signal.signal`` and ``signal.set_wakeup_fd``.
signal_signal = signal.signal
set_wakeup_fd = signal.set_wakeup_fd
