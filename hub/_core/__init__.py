"""The hub core: the loop, waiting, timers, fd readiness and cross-thread wake-up.

Everything else in ``hub`` is built on what this package exports and nothing more.
"""

from ._errors import BlockingSwitchOutError, ConcurrentObjectUseError, InvalidSwitchError, LoopExit
from ._hub import Hub, get_hub, get_hub_if_exists, set_hub
from ._io import FdState, add_waiter, remove_waiter
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
    "InvalidSwitchError",
    "LoopExit",
    "Throw",
    "Timer",
    "add_waiter",
    "get_hub",
    "get_hub_if_exists",
    "new_waiter",
    "remove_waiter",
    "set_hub",
    "wake",
]
