"""The hub core: the loop, waiting, timers, fd readiness and cross-thread wake-up.

Everything else in ``hub`` is built on what this package exports and nothing more.
"""

from ._closing import notify_fd_closing
from ._errors import BlockingSwitchOutError, ConcurrentObjectUseError, InvalidSwitchError, LoopExit
from ._hub import Hub, get_hub, get_hub_if_exists, reinit, set_hub
from ._io import FdState, add_waiter, remove_waiter
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
from ._waiter import PENDING, TIMEOUT, Callback, Throw, new_waiter, wake

__all__ = [
    "PENDING",
    "TIMEOUT",
    "BlockingSwitchOutError",
    "Callback",
    "ConcurrentObjectUseError",
    "FdState",
    "Hub",
    "HubStatistics",
    "InvalidSwitchError",
    "LoopExit",
    "RealSimpleQueue",
    "RealThreadHandle",
    "RealThreadLocal",
    "Throw",
    "Timer",
    "add_waiter",
    "allocate_lock",
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
    "real_select",
    "real_sleep",
    "register_at_fork",
    "reinit",
    "remove_waiter",
    "set_hub",
    "set_sentinel",
    "set_wakeup_fd",
    "signal_signal",
    "start_joinable_thread",
    "start_new_thread",
    "thread_count",
    "thread_shutdown",
    "wake",
]
