"""Make the blocking standard library cooperative: ``import monkeypatch; monkeypatch.patch_all()``.

After it, unmodified code that uses socket, DNS, time.sleep, select, selectors, ssl,
subprocess, os.waitpid and signal handlers (urllib, http.client, requests, socketserver, ...)
runs on the calling thread's hub: a blocking call suspends only the greenlet that made it.
Threads become greenlets too, and threading's locks, queue's queues and threading.local
cooperative (docs/threading.md). What is replaced is listed, row by row, in
``monkeypatch/_table.py``; nothing else is touched, and nothing happens at import time.

Calling it late works too: modules imported earlier that copied a replaced object into their own
globals (``from socket import create_connection``, ``_Selector = selectors.PollSelector``) are
rebound to the cooperative object, and every reference that cannot be rebound safely (a default
argument, a closure, a class attribute, a socket that already exists) is named in a
:class:`MonkeyPatchWarning`. docs/patching.md has the rules; ``python -m monkeypatch --check`` lists
what is patched and what still refers to an original.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any

from . import _drivers, _late, _late_thread
from ._table import OPTIONS, TABLE, Patch

__all__ = [
    "MonkeyPatchWarning",
    "get_original",
    "is_module_patched",
    "is_object_patched",
    "patch_all",
    "patch_dns",
    "patch_os",
    "patch_psycopg",
    "patch_queue",
    "patch_select",
    "patch_signal",
    "patch_socket",
    "patch_ssl",
    "patch_subprocess",
    "patch_thread",
    "patch_time",
]


class MonkeyPatchWarning(RuntimeWarning):
    """Something patch_all() could not make cooperative; the message says what and why."""


# (module name, attribute) -> the stdlib object that was there before we replaced it.
_originals: dict[tuple[str, str], Any] = {}
# (module name, attribute) -> what we put there.
_replacements: dict[tuple[str, str], Any] = {}
# Module globals rebound by late patching (python -m monkeypatch --check lists them).
_healed: list[_late.Healed] = []
_warned: set[_late.Stale] = set()
# hub.monitor.ENV_VAR, spelled out so that patch_all() need not import hub.monitor to read it.
_MONITOR_ENV = "GREENPATCH_MAX_BLOCKING_TIME"


def _lookup(obj: Any, dotted: str) -> tuple[Any, str]:
    """(the object that holds the last part of ``dotted``, that last part)."""
    *path, attr = dotted.split(".")
    for part in path:
        obj = getattr(obj, part)
    return obj, attr


def _apply(row: Patch) -> list[tuple[str, str]]:
    """Replace the row's attributes; return the (module, name) pairs that changed now."""
    try:
        target = importlib.import_module(row.module)
    except ImportError:
        return []  # this Python lacks the module (ctypes without _ctypes): nothing to replace
    source = importlib.import_module(row.source)
    changed = []
    for name in row.names:
        key = (row.module, name)
        if key in _originals:
            continue  # already patched: patching twice is harmless
        try:
            owner, attr = _lookup(target, name)
            replacement = getattr(*_lookup(source, name))
        except AttributeError:
            continue  # the platform lacks it (epoll outside Linux): nothing to replace
        if not hasattr(owner, attr):
            continue  # this Python lacks it (_thread._set_sentinel on 3.13): nothing to replace
        _originals[key] = getattr(owner, attr, None)
        _replacements[key] = replacement
        setattr(owner, attr, replacement)
        changed.append(key)
    return changed


def _patch(options: Iterable[str], warn: bool = True) -> None:
    wanted = set(options)
    if "thread" in wanted and warn and not _in_main_thread():
        warnings.warn(
            "patch_thread() called from a thread other than the main one: threads started "
            "from now on are greenlets of the thread that starts them, and run only while that "
            "thread's hub runs; the main thread's own locks and threads stay as they are. Call "
            "monkeypatch.patch_all() first thing in the main thread",
            MonkeyPatchWarning,
            stacklevel=_caller_stacklevel(),
        )
    changed = []
    for row in TABLE:
        if row.option in wanted:
            changed += _apply(row)
    if ("signal", "signal") in changed and _in_main_thread():
        from hub.signal import route_interrupts

        route_interrupts()  # SIGINT's KeyboardInterrupt goes to the main greenlet (hub/signal.py)
    if changed:
        _patch_late(changed, warn)


def patch_all(
    socket: bool = True,
    dns: bool = True,
    time: bool = True,
    select: bool = True,
    ssl: bool = True,
    subprocess: bool = True,
    os: bool = True,
    signal: bool = True,
    thread: bool = True,
    queue: bool = True,
    psycopg: bool = True,
    **more: bool,
) -> None:
    """Make the blocking stdlib cooperative (each keyword turns one group on or off).

    Idempotent. An unknown keyword raises TypeError naming it. Modules loaded earlier that kept
    their own copies of what was replaced are rebound, or named in a MonkeyPatchWarning when
    that cannot be done safely (see docs/patching.md). ``psycopg``: make psycopg 3 and psycopg2
    wait on the hub when they are installed (see :func:`patch_psycopg`, docs/databases.md).
    """
    for name in more:
        raise TypeError(
            f"patch_all() got an unexpected keyword argument {name!r} (known: {', '.join(OPTIONS)})"
        )
    enabled = {
        "socket": socket,
        "dns": dns,
        "time": time,
        "select": select,
        "ssl": ssl,
        "subprocess": subprocess,
        "os": os,
        "signal": signal,
        "thread": thread,
        "queue": queue,
    }
    _patch([name for name in OPTIONS if enabled[name]])
    if psycopg:
        _drivers.patch_psycopg_if_present(select_patched=is_object_patched("select", "poll"))
    # GREENPATCH_MAX_BLOCKING_TIME starts the blocking monitor (docs/diagnostics.md). hub.monitor
    # (and the logging it imports) is imported only when the variable is set: most programs never
    # use it, and every one of them would pay for the import at start-up.
    if _monitor_requested():
        from hub import monitor

        monitor.start_from_environment()


def _monitor_requested() -> bool:
    return bool(os.environ.get(_MONITOR_ENV, "").strip())


def patch_socket(dns: bool = True) -> None:
    """Cooperative socket objects and connection helpers (and, with ``dns``, name resolution)."""
    _patch(["socket", "dns"] if dns else ["socket"])


def patch_dns() -> None:
    """Cooperative name resolution: getaddrinfo and friends run in the hub's thread pool."""
    _patch(["dns"])


def patch_psycopg() -> None:
    """Make psycopg 3 and psycopg2 (whichever are installed) wait on the hub, importing them.

    psycopg 3 gets the wait function :func:`hub.dbwait.wait_psycopg`, psycopg2 the wait callback
    :func:`hub.dbwait.psycopg2_wait_callback` (unless it has a callback already). patch_all()
    does this for drivers already imported; for psycopg 3 imported later it selects psycopg's
    own poll()-based wait instead, cooperative on the patched select module (docs/databases.md).
    """
    _drivers.patch_psycopg()


def patch_time() -> None:
    """Cooperative ``time.sleep``."""
    _patch(["time"])


def patch_select() -> None:
    """Cooperative ``select.select``/``poll``/``epoll`` and ``selectors`` classes."""
    _patch(["select"])


def patch_ssl() -> None:
    """Cooperative TLS: every ``ssl.SSLContext`` (made before or after this call, subclasses
    included) wraps sockets in :class:`hub.ssl.SSLSocket`. ``ssl.SSLContext`` itself stays the
    stdlib's class (see docs/ssl.md)."""
    _patch(["ssl"])


def patch_subprocess() -> None:
    """Cooperative ``subprocess``: the stdlib's ``Popen`` class waits for its child, moves data
    through its pipes and reads them on the hub (``subprocess.Popen`` stays the stdlib's class;
    see hub/subprocess.py)."""
    _patch(["subprocess"])


def patch_os() -> None:
    """Cooperative ``os.waitpid``/``wait``/``wait3``/``wait4``/``waitid`` (without WNOHANG) and
    ``os.read`` (on a blocking fd with nothing to read yet); ``os.fork``/``forkpty`` give the
    child a re-initialised hub."""
    _patch(["os"])


def patch_signal() -> None:
    """``signal.signal`` handlers run in greenlets of their own on the main thread's hub, so they
    may wait; ``signal.getsignal`` answers what was installed (see hub/signal.py)."""
    _patch(["signal"])


def patch_thread() -> None:
    """Threads become greenlets: ``threading.Thread``, ``_thread.start_new_thread`` and
    ``concurrent.futures.ThreadPoolExecutor`` start greenlets of the calling thread's hub, and
    ``threading``'s locks, conditions, events, semaphores, barriers and ``threading.local``
    (per greenlet now) are cooperative. ``threading``'s classes stay the stdlib's.
    ``get_original("threading", "Thread")`` still starts real OS threads (docs/threading.md)."""
    _patch(["thread"])


def patch_queue() -> None:
    """Cooperative ``queue.SimpleQueue``. (``queue.Queue`` and friends stay the stdlib's
    classes; with ``patch_thread()`` their locks are cooperative.)"""
    _patch(["queue"])


# Originals that are not simply the object that was replaced: threading.Thread stays in place
# once threads are patched, so its "original", a Thread in a real OS thread, is a subclass.
_STAND_INS = {("threading", "Thread"): ("_thread", "hub.threading", "RealThread")}


def is_module_patched(name: str) -> bool:
    """True if any attribute of the stdlib module ``name`` has been replaced."""
    return any(module == name for module, _ in _originals)


def is_object_patched(module_name: str, attr: str) -> bool:
    """True if ``module_name.attr`` has been replaced (``attr`` may be dotted, as in the
    table: ``is_object_patched("ssl", "SSLContext.sslsocket_class")``)."""
    return (module_name, attr) in _originals


def get_original(module_name: str, name_or_names: str | Iterable[str]) -> Any:
    """The stdlib's own object(s) for ``module_name.name``, patched or not (``name`` may be
    dotted, as in the table).

    With a list of names, returns a list in the same order.
    """
    if isinstance(name_or_names, str):
        key = (module_name, name_or_names)
        if key in _originals:
            return _originals[key]
        stand_in = _STAND_INS.get(key)
        if stand_in is not None and is_module_patched(stand_in[0]):
            return getattr(importlib.import_module(stand_in[1]), stand_in[2])
        return getattr(*_lookup(importlib.import_module(module_name), name_or_names))
    return [get_original(module_name, name) for name in name_or_names]


# -- late patching --------------------------------------------------------------------------


def _patched(keys: Iterable[tuple[str, str]] | None = None) -> _late.Patched:
    """(original, replacement) of the given keys (every patched key by default)."""
    return {key: (_originals[key], _replacements[key]) for key in (keys or _originals)}


def _patch_late(changed: list[tuple[str, str]], warn: bool) -> None:
    """Rebind what modules loaded earlier copied of ``changed``; warn about what remains.

    ``from socket import create_connection`` executed before patch_all() leaves the module
    holding the blocking original; ``_late.heal`` rebinds such module globals. References it
    cannot rebind safely (defaults, closures, class attributes, subclasses, sockets that already
    exist) are named, each once, in a MonkeyPatchWarning.
    """
    patched = _patched(changed)
    _healed.extend(_late.heal(patched))
    stales = []
    if ("_thread", "allocate_lock") in patched:
        real_lock = _originals[("_thread", "allocate_lock")]
        real_rlock = _originals.get(("_thread", "RLock"))
        _late_thread.replace_logging_locks(real_lock, real_rlock)
        _late_thread.heal_unstarted_threads()
        if warn:
            stales += _late_thread.find_stale(real_lock, real_rlock)
    if not warn:
        return
    stales = [s for s in _late.find_stale(patched) if not _late_thread.harmless(s)] + stales
    for stale in stales:
        if stale in _warned:
            continue
        _warned.add(stale)
        warnings.warn(
            f"{stale.where} still uses the blocking {stale.original}: {stale.why}. Calls "
            "through it block the thread; call monkeypatch.patch_all() first thing in the "
            "program (python -m monkeypatch --check lists every such reference)",
            MonkeyPatchWarning,
            stacklevel=_caller_stacklevel(),
        )


def _in_main_thread() -> bool:
    from hub import _core

    return _core.get_ident() == _core.main_thread_ident


def _caller_stacklevel() -> int:
    """The warnings stacklevel of the first frame outside this package (the patch_all() call)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame: Any = sys._getframe(1)  # our caller: level 1
    level = 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame = frame.f_back
        level += 1
    return level
