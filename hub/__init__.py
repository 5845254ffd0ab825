"""greenpatch's runtime: one hub per OS thread, greenlets, timeouts and cooperative IO.

The public API is re-exported here; its pieces live in small modules:

- ``hub._core``: the loop, waiting primitives, timers, fd readiness, cross-thread wake-up;
- ``hub._greenlet``: Greenlet, spawn, sleep, joinall, killall, wait, iwait;
- ``hub._api``: kill and spawn_raw for any greenlet, the switch interval;
- ``hub._timeout``: Timeout and with_timeout;
- ``hub._event``, ``hub._lock``, ``hub.queue``, ``hub.pool``, ``hub.local``, ``hub._taskgroup``:
  synchronisation (Event, AsyncResult, locks, queues, Pool and Group, greenlet-local storage,
  TaskGroup).

Names follow gevent's, so code moves over by changing its imports.
"""

from __future__ import annotations

from greenlet import GreenletExit, getcurrent

from . import threadpool  # noqa: F401  (registers Hub.threadpool's factory with the core)
from ._api import getswitchinterval, kill, setswitchinterval, spawn_raw
from ._core import (
    BlockingSwitchOutError,
    ConcurrentObjectUseError,
    Hub,
    InvalidSwitchError,
    LoopExit,
    get_hub,
    reinit,
)
from ._event import AsyncResult, Event
from ._greenlet import (
    Greenlet,
    idle,
    iwait,
    joinall,
    killall,
    sleep,
    spawn,
    spawn_later,
    wait,
)
from ._io_waits import wait_read, wait_readwrite, wait_write
from ._lock import BoundedSemaphore, Condition, DummySemaphore, Lock, RLock, Semaphore
from ._taskgroup import TaskGroup
from ._timeout import Timeout, with_timeout
from .local import local
from .os import fork
from .pool import Group, Pool
from .queue import Channel, JoinableQueue, LifoQueue, PriorityQueue, Queue, SimpleQueue
from .signal import signal_handler

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncResult",
    "BlockingSwitchOutError",
    "BoundedSemaphore",
    "Channel",
    "ConcurrentObjectUseError",
    "Condition",
    "DummySemaphore",
    "Event",
    "Greenlet",
    "GreenletExit",
    "Group",
    "Hub",
    "InvalidSwitchError",
    "JoinableQueue",
    "LifoQueue",
    "Lock",
    "LoopExit",
    "Pool",
    "PriorityQueue",
    "Queue",
    "RLock",
    "Semaphore",
    "SimpleQueue",
    "TaskGroup",
    "Timeout",
    "fork",
    "get_hub",
    "getcurrent",
    "getswitchinterval",
    "idle",
    "iwait",
    "joinall",
    "kill",
    "killall",
    "local",
    "reinit",
    "setswitchinterval",
    "signal_handler",
    "sleep",
    "spawn",
    "spawn_later",
    "spawn_raw",
    "wait",
    "wait_read",
    "wait_readwrite",
    "wait_write",
    "with_timeout",
]
