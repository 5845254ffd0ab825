"""Exceptions raised by the hub core."""

from __future__ import annotations

__all__ = ["BlockingSwitchOutError", "ConcurrentObjectUseError", "InvalidSwitchError", "LoopExit"]


class LoopExit(Exception):
    """Raised in a thread's main greenlet when it waits and nothing can ever wake it.

    The hub raises it instead of hanging: no greenlet is ready, no timer is pending, no fd is
    awaited and no other thread could deliver a wake-up. The message names the wait.
    """


class BlockingSwitchOutError(AssertionError):
    """A blocking call was made from the hub itself (from a callback or a raw link)."""


class InvalidSwitchError(AssertionError):
    """A waiting greenlet was resumed by something other than the hub."""


class ConcurrentObjectUseError(AssertionError):
    """An object that allows one waiter at a time was waited on by a second greenlet."""
