"""The one line that differs between toolkits: patch the stdlib, hand back spawn and joinall.

Every stdlib-socket program under bench/servers/ starts with ``spawn, joinall =
use(sys.argv[1])`` and imports ``socket``, ``ssl`` or ``urllib`` only after it, exactly as a
user puts ``patch_all()`` at the top of a program. For the green toolkits ``spawn`` starts a
greenlet (the toolkit's own ``spawn``); for ``threads`` it starts an OS thread, so the same
source is also the classic thread-per-connection program.

A toolkit whose ``patch_all()`` leaves ``socket.socket`` (or, for a TLS server, the socket class
``ssl.SSLContext`` makes) alone would block the whole process in its first ``accept()`` (or
handshake); such a run is refused up front with a line on stderr starting ``unsupported:``,
which the harness reports as a skip instead of waiting for a timeout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Spawn = Callable[..., Any]
JoinAll = Callable[[list[Any]], None]


def _threads() -> tuple[Spawn, JoinAll]:
    import threading

    def spawn(fn: Callable[..., Any], *args: Any) -> threading.Thread:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        return thread

    def joinall(threads: list[threading.Thread]) -> None:
        for thread in threads:
            thread.join()

    return spawn, joinall


# What a green toolkit must have replaced, by the module the program needs cooperative.
# What must come from elsewhere than the stdlib module after patching (any one of the names). For
# ssl: gevent and eventlet replace SSLContext; greenpatch sets the stdlib SSLContext's
# sslsocket_class, the class its wrap_socket() makes.
_PATCHED = {
    "socket": ("socket", ("socket",)),
    "ssl": ("ssl", ("SSLContext", "SSLContext.sslsocket_class")),
    # greenpatch replaces Popen's blocking methods on the stdlib's class; gevent replaces Popen.
    "subprocess": ("subprocess", ("Popen", "Popen._wait")),
}


def use(name: str, needs: tuple[str, ...] = ("socket",)) -> tuple[Spawn, JoinAll]:
    """Patch the stdlib for toolkit ``name``; return its ``spawn(fn, *args)`` and ``joinall``.

    ``needs`` names the stdlib modules the program uses (``socket``, ``ssl``): a green toolkit
    that left one of them blocking is refused (exit status 3).
    """
    if name == "greenpatch":
        import monkeypatch

        monkeypatch.patch_all()
        import hub

        spawn, joinall = hub.spawn, hub.joinall
    elif name == "gevent":
        from gevent import monkey

        monkey.patch_all()
        import gevent

        spawn, joinall = gevent.spawn, gevent.joinall
    elif name == "eventlet":
        import eventlet

        eventlet.monkey_patch()

        def joinall(threads: list[Any]) -> None:
            for thread in threads:
                thread.wait()

        spawn = eventlet.spawn
    elif name == "threads":
        return _threads()
    else:
        raise SystemExit(f"unknown toolkit {name!r}")

    for need in needs:
        module, attrs = _PATCHED[need]
        if all(_resolve(module, attr).__module__ == module for attr in attrs):
            print(
                f"unsupported: {name}'s patch_all() did not replace {module}.{attrs[-1]} "
                f"(no cooperative {module} module yet)",
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(3)
    return spawn, joinall


def _resolve(module: str, dotted: str) -> Any:
    import importlib

    obj: Any = importlib.import_module(module)
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj
