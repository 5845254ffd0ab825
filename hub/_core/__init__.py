"""The hub core: the loop, waiting, timers, fd readiness and cross-thread wake-up.

Everything else in ``hub`` is built on what this package exports and nothing more.
"""

from ._closing import notify_fd_closing
from ._errors import BlockingSwitchOutError, ConcurrentObjectUseError, InvalidSwitchError, LoopExit
from ._hub import (
    Hub,
    count_helper_thread,
    get_hub,
    get_hub_if_exists,
    reinit,
    set_hub,
    set_threadpool_factory,
)
from ._io import FdState, FdStatistics, add_waiter, remove_waiter
from ._originals import (
    RealSimpleQueue,
    RealThreadHandle,
    RealThreadLocal,
    allocate_lock,
    get_ident,
    get_native_id,
    main_thread_ident,
    monotonic,
    os_fork,
    os_waitpid,
    real_poll,
    real_select,
    real_sleep,
    register_at_fork,
    set_sentinel,
    set_wakeup_fd,
    signal_signal,
    start_joinable_thread,
    start_new_thread,
    thread_count,
    thread_shutdown,
)
from ._stats import HubStatistics
from ._timers import Timer
from ._waiter import PENDING, TIMEOUT, Callback, SelfEntry, Throw, new_waiter, wake
from ._waitqueue import NOTHING, TAKEN, WATCH, WaitQueue, WaitQueueStatistics

__all__ = [
    "NOTHING",
    "PENDING",
    "TAKEN",
    "TIMEOUT",
    "WATCH",
    "BlockingSwitchOutError",
    "Callback",
    "ConcurrentObjectUseError",
    "FdState",
    "FdStatistics",
    "Hub",
    "HubStatistics",
    "InvalidSwitchError",
    "LoopExit",
    "RealSimpleQueue",
    "RealThreadHandle",
    "RealThreadLocal",
    "SelfEntry",
    "Throw",
    "Timer",
    "WaitQueue",
    "WaitQueueStatistics",
    "add_waiter",
    "allocate_lock",
    "count_helper_thread",
    "get_hub",
    "get_hub_if_exists",
    "get_ident",
    "get_native_id",
    "main_thread_ident",
    "monotonic",
    "new_waiter",
    "notify_fd_closing",
    "os_fork",
    "os_waitpid",
    "real_poll",
    "real_select",
    "real_sleep",
    "register_at_fork",
    "reinit",
    "remove_waiter",
    "set_hub",
    "set_sentinel",
    "set_threadpool_factory",
    "set_wakeup_fd",
    "signal_signal",
    "start_joinable_thread",
    "start_new_thread",
    "thread_count",
    "thread_shutdown",
    "wake",
]
