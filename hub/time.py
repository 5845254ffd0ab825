"""A cooperative time module: ``time.sleep`` suspends the greenlet, not the thread."""

from __future__ import annotations

import time as _stdlib_time
from time import *

from ._greenlet import sleep as _hub_sleep

__all__ = sorted({*(n for n in dir(_stdlib_time) if not n.startswith("_")), "sleep"})


_MAX_SECONDS = (2**63 - 1) / 1e9  # the C clock type: int64 nanoseconds


def sleep(secs: float) -> None:
    """Cooperative :func:`time.sleep`: the stdlib's argument checks, then ``hub.sleep(secs)``."""
    if not isinstance(secs, (int, float)):
        index = getattr(type(secs), "__index__", None)
        if index is None:
            raise TypeError(f"'{type(secs).__name__}' object cannot be interpreted as an integer")
        secs = index(secs)
    if secs != secs:  # NaN
        raise ValueError("Invalid value NaN (not a number)")
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    if secs > _MAX_SECONDS:
        raise OverflowError("timestamp too large to convert to C _PyTime_t")
    _hub_sleep(secs)
