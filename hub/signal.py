"""Cooperative signal handlers: each runs in a greenlet of its own, on the main thread's hub.

Python runs a signal handler in the main thread, between two bytecodes of whatever happens to be
running there: some greenlet, or the hub itself in the middle of its loop. A handler that waits
(sleeps, takes a lock, does IO) would then suspend that unrelated greenlet, or fail in the hub;
one that raises would throw into it. So a handler installed through :func:`signal` (the
cooperative ``signal.signal``) or :func:`signal_handler` (gevent's name) is not what the C level
calls. The C level calls a small trampoline, which starts a new ``hub.Greenlet`` for the handler:

- if the signal interrupted ordinary code of some greenlet, that greenlet yields once (as with
  ``sleep(0)``) right there, so the handler greenlet, queued first, runs before the interrupted
  code goes on. A handler that does not wait has therefore finished when the code that raised
  the signal (``os.kill(os.getpid(), ...)``, ``signal.raise_signal``) continues, as with the
  stdlib;
- if it interrupted the hub, or greenpatch's own code (where a switch could land in the middle
  of a wait being registered), the handler greenlet is queued through ``run_threadsafe``, which
  also wakes a hub asleep in ``epoll_wait`` (Python retries that call after running the
  trampoline, so the wake-up must come through the hub's own wake-up fd).

An exception a handler raises stays in its greenlet: it is printed and stored on that
``Greenlet`` (``exception``), never thrown into a greenlet that merely happened to run.
KeyboardInterrupt and SystemExit from a handler still go to the main greenlet (the hub forwards
them). ``SIG_DFL`` and ``SIG_IGN`` are given to the stdlib untouched.

SIGINT's default handler, ``signal.default_int_handler``, raises KeyboardInterrupt in whatever
runs when the signal comes. With threads patched that may be a green thread busy in a loop that
never waits, where ``threading`` hands the exception to ``excepthook`` and the thread ends while
the main greenlet never hears of it (the stdlib delivers signals to the main thread only). So
at the C level it is replaced by :func:`_interrupt` (``getsignal`` still answers
``default_int_handler``): in the main greenlet, or in the hub (which forwards it), it raises
right there, exactly as before; in any other greenlet it throws the KeyboardInterrupt into the
main greenlet through the hub and yields once, so the main greenlet gets it now and the
interrupted greenlet goes on later, as a thread would. ``patch_signal()`` gives the signals
that already have the default handler (SIGINT, from interpreter start-up) the same
(:func:`route_interrupts`).

:func:`getsignal` answers what the program installed, never the trampoline. The hub does not use
``signal.set_wakeup_fd`` (its cross-thread wake-up is an eventfd of its own), so a program's
wake-up fd keeps working as the stdlib's; ``set_wakeup_fd`` is not replaced.
"""

from __future__ import annotations

import os as _os
import signal as _signal
import sysconfig as _sysconfig
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent

from ._core import Hub, get_hub, signal_getsignal, signal_signal
from ._greenlet import Greenlet, sleep

__all__ = [
    "SignalHandler",
    "call_handler",
    "getsignal",
    "route_interrupts",
    "signal",
    "signal_handler",
]

_PASSED_THROUGH = (_signal.SIG_DFL, _signal.SIG_IGN, _signal.default_int_handler)
_HUB_DIR = _os.path.dirname(_os.path.abspath(__file__))
# greenpatch's own code, and the stdlib's (skipped over: whoever called it decides).
_RUNTIME_DIRS = (_HUB_DIR + _os.sep, _os.path.join(_os.path.dirname(_HUB_DIR), "monkeypatch", ""))
_STDLIB_DIRS = (
    _os.path.join(_sysconfig.get_paths()["stdlib"], ""),
    _os.path.join(_sysconfig.get_paths()["platstdlib"], ""),
    "<frozen",
)

# signum -> the handler the program installed through signal() (run in a greenlet).
_user: dict[int, Callable[..., Any]] = {}
# signum -> the SignalHandler objects of signal_handler(), in order.
_watchers: dict[int, list[SignalHandler]] = {}
# signum -> what getsignal() answered before the trampoline took the signal over while only
# watchers use it (restored when the last one is cancelled).
_before: dict[int, Any] = {}


class SignalHandler:
    """What :func:`signal_handler` returns: ``cancel()`` it to stop handling the signal."""

    def __init__(self, signum: int, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.signum = signum
        self.callback = callback
        self.args = args
        #: The Greenlet of the most recent call (its ``exception`` holds what it raised).
        self.greenlet: Greenlet[Any] | None = None

    def cancel(self) -> None:
        """Stop handling; the signal's previous handler comes back with the last one."""
        watchers = _watchers.get(self.signum, [])
        if self in watchers:
            watchers.remove(self)
        if not watchers:
            _watchers.pop(self.signum, None)
            if self.signum not in _user and signal_getsignal(self.signum) is _trampoline:
                signal_signal(self.signum, _c_level(_before.pop(self.signum, _signal.SIG_DFL)))

    def _run(self) -> None:
        self.greenlet = Greenlet.spawn(self.callback, *self.args)

    def __repr__(self) -> str:
        return f"<SignalHandler signum={self.signum} callback={self.callback!r}>"


def signal_handler(signum: int, handler: Callable[..., Any], *args: Any) -> SignalHandler:
    """Call ``handler(*args)`` in a new greenlet each time signal ``signum`` arrives (gevent's
    ``signal_handler``). Several may watch one signal; while any does, it replaces the
    handler installed before (SIGINT's KeyboardInterrupt included). Main thread only."""
    previous = signal_getsignal(signum)
    if previous is not _trampoline:
        signal_signal(signum, _trampoline)  # raises ValueError outside the main thread
        _before[signum] = previous
    watcher = SignalHandler(signum, handler, args)
    _watchers.setdefault(signum, []).append(watcher)
    return watcher


def signal(signalnum: int, handler: Any, /) -> Any:
    """``signal.signal``: a Python handler runs in a greenlet of its own (module docstring);
    ``SIG_DFL``, ``SIG_IGN`` and ``default_int_handler`` go to the stdlib as they are."""
    previous = getsignal(signalnum)
    if handler in _PASSED_THROUGH or not callable(handler):
        if signalnum in _watchers:
            signal_getsignal(signalnum)  # validates signalnum like the stdlib
            _before[signalnum] = handler
        else:
            signal_signal(signalnum, _c_level(handler))
        _user.pop(signalnum, None)
        return previous
    signal_signal(signalnum, _trampoline)
    _user[signalnum] = handler
    return previous


def getsignal(signalnum: int, /) -> Any:
    """``signal.getsignal``: the handler the program installed (never the trampoline)."""
    current = signal_getsignal(signalnum)
    if current is _interrupt:
        return _signal.default_int_handler
    if current is _trampoline:
        if signalnum in _user:
            return _user[signalnum]
        return _before.get(signalnum, _signal.SIG_DFL)
    return current


def _trampoline(signum: int, frame: Any) -> None:
    # The C level's handler: see the module docstring. Runs in the main thread, anywhere.
    hub = get_hub()
    if getcurrent() is hub or _in_runtime(frame):
        hub.run_threadsafe(_start, hub, signum, frame)
        return
    _start(hub, signum, frame)
    sleep(0)  # the handler greenlet was queued first: it runs before we go on


def _c_level(handler: Any) -> Any:
    """What the C level is given for a handler passed through: the router for the default
    SIGINT handler (module docstring), anything else as it is."""
    return _interrupt if handler is _signal.default_int_handler else handler


def _interrupt(signum: int, frame: Any) -> None:
    # default_int_handler's stand-in at the C level: see the module docstring.
    hub = get_hub()
    current = getcurrent()
    if current.parent is None or current is hub:
        _signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt here
    hub.handle_error(None, KeyboardInterrupt())  # queued: thrown into the main greenlet
    if not _in_runtime(frame):
        sleep(0)  # let it have it now; where greenpatch's own code runs, at its next wait


def route_interrupts() -> None:
    """Give every signal whose C-level handler is ``default_int_handler`` the router that sends
    its KeyboardInterrupt to the main greenlet (module docstring). Main thread only;
    ``patch_signal()`` calls it."""
    for signum in _signal.valid_signals():
        try:
            if signal_getsignal(signum) is _signal.default_int_handler:
                signal_signal(signum, _interrupt)
        except (OSError, ValueError):
            continue  # a signal Python cannot handle


def _in_runtime(frame: Any) -> bool:
    """True if the interrupted code is greenpatch's (directly, or through the stdlib)."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_RUNTIME_DIRS):
            return True
        if not filename.startswith(_STDLIB_DIRS):
            return False
        frame = frame.f_back
    return False


def _start(hub: Hub, signum: int, frame: Any) -> None:
    handler = _user.get(signum)
    if handler is not None:
        Greenlet.spawn(handler, signum, frame)
    for watcher in list(_watchers.get(signum, ())):
        watcher._run()


def call_handler(signum: int, frame: Any) -> bool:
    """Run the handler the program installed for ``signum`` through :func:`signal` right here,
    in the calling greenlet, instead of in a greenlet of its own; False (and nothing run) when
    the signal's C-level handler is not the trampoline.

    For ``_thread.interrupt_main()`` called by the main greenlet: the stdlib runs the handler
    in the main thread at once, so what it raises comes out of that call (hub._thread). The
    :func:`signal_handler` watchers start in greenlets as they always do.
    """
    if signal_getsignal(signum) is not _trampoline:  # also validates signum (ValueError)
        return False
    watchers = list(_watchers.get(signum, ()))
    for watcher in watchers:
        watcher._run()
    handler = _user.get(signum)
    if handler is not None:
        handler(signum, frame)
    elif watchers:
        sleep(0)  # let them run before the caller goes on, as the trampoline does
    return True
