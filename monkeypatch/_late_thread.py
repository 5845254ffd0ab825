"""Late patching of threads: what patch_thread() does about locks and threads that already exist.

``_late.heal`` rebinds module globals that hold the replaced *functions and classes*
(``from threading import Lock``). Lock *instances* made before patching are another matter: a
real lock held by one greenlet across a cooperative wait blocks the whole OS thread as soon as a
second greenlet of that thread wants it. They cannot be swapped in general: the same lock may be
referenced from places we cannot see (a closure, another object), and two objects where there
was one would end the mutual exclusion. So:

Replaced, because only the stdlib's code uses them, and reads them afresh each time:
    ``logging``'s module lock (``logging._lock``) and the lock of every handler that exists
    (``Handler.lock``), when not held. Logging is the usual case: it is imported before
    anything (by the framework that then calls patch_all()), and its handlers' locks are held
    across a socket or file write;
    the internal Event (and 3.13 handle) of ``threading.Thread`` objects created but not yet
    started, so that they start as green threads.

Named in a MonkeyPatchWarning (:func:`find_stale`):
    - real locks held as module globals of loaded modules outside the stdlib (a library's
      connection pool lock, say). The stdlib's own module locks (``tempfile._once_lock``,
      ``asyncio.events._lock``, ``concurrent.futures.thread._global_shutdown_lock``) guard a few
      lines that never wait, so while one greenlet holds one no other greenlet of the thread
      can run, let alone want it: they are harmless and not named;
    - threads started before patching, which stay real OS threads;
    - patching from a thread other than the main one (see ``patch_thread``).

Not named either: stdlib classes derived from ``threading.local`` before patching
(``asyncio.events._RunningLoop``): they stay per OS thread, which is what they mean (one running
loop per OS thread), see :func:`harmless`.
"""

from __future__ import annotations

import sys
from typing import Any

from ._late import Stale

__all__ = ["find_stale", "harmless", "heal_unstarted_threads", "replace_logging_locks"]

# threading's own locks, held only around dict updates, never across a wait.
_INTERNAL = {
    ("threading", "_active_limbo_lock"),
    ("threading", "_shutdown_locks_lock"),
    ("threading", "_thread_local_info"),
    ("threading", "_main_thread"),
}
_OURS = ("hub", "monkeypatch")
_STDLIB = frozenset(sys.stdlib_module_names) | {"test"}
_LOCAL_NAMES = ("_thread._local", "threading.local", "_threading_local.local")


def _real_lock_types(original_lock: Any, original_rlock: Any) -> tuple[type, ...]:
    kinds = []
    if original_lock is not None:
        kinds.append(type(original_lock()))
    if isinstance(original_rlock, type):
        kinds.append(original_rlock)
    return tuple(kinds)


def _held(lock: Any) -> bool:
    # A C RLock tells only whether the *calling* thread owns it, and a non-blocking acquire
    # succeeds for its owner: ask both.
    is_owned = getattr(lock, "_is_owned", None)
    if is_owned is not None and is_owned():
        return True
    if lock.acquire(False):
        lock.release()
        return False
    return True


def replace_logging_locks(original_lock: Any, original_rlock: Any) -> list[str]:
    """Give ``logging`` and its existing handlers cooperative locks; return what was replaced."""
    logging: Any = sys.modules.get("logging")  # its private module lock is replaced
    if logging is None:
        return []
    kinds = _real_lock_types(original_lock, original_rlock)
    import threading

    replaced = []
    module_lock = getattr(logging, "_lock", None)
    if isinstance(module_lock, kinds) and not _held(module_lock):
        logging._lock = threading.RLock()
        replaced.append("logging._lock")
    for ref in list(getattr(logging, "_handlerList", ())):
        handler = ref() if callable(ref) else ref
        lock = getattr(handler, "lock", None)
        if isinstance(lock, kinds) and not _held(lock):
            handler.lock = threading.RLock()
            replaced.append(f"lock of {handler!r}")
    return replaced


def heal_unstarted_threads() -> list[str]:
    """Threads created before patch_thread() but not started yet become green threads too.

    ``Thread.start()`` waits on the thread's own ``_started`` Event (and, on 3.13, fills its
    ``_handle``); made before patching, those are real, and a real wait for a green thread that
    can only run once the caller yields would never end. Nobody can be waiting on them before
    ``start()``, so they are replaced by new ones. Returns the threads' reprs.
    """
    import gc
    import threading

    thread_type = threading.Thread
    handle_type = getattr(threading, "_ThreadHandle", None)
    real_handle_type = getattr(sys.modules.get("hub._core"), "RealThreadHandle", None)
    healed = []
    for obj in gc.get_objects():
        if not issubclass(type(obj), thread_type) or not hasattr(obj, "_started"):
            continue
        if obj._started.is_set() or getattr(type(obj), "__module__", "").startswith(_OURS):
            continue
        obj._started = threading.Event()
        if handle_type is not None and type(getattr(obj, "_handle", None)) is real_handle_type:
            obj._handle = handle_type()
        healed.append(repr(obj))
    return healed


def find_stale(original_lock: Any, original_rlock: Any) -> list[Stale]:
    """Real locks in module globals and real threads that were there before patch_thread()."""
    found: list[Stale] = []
    kinds = _real_lock_types(original_lock, original_rlock)
    for name, module in list(sys.modules.items()):
        top = name.partition(".")[0]
        if module is None or top in _OURS or top in _STDLIB:
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            if isinstance(value, kinds) and (name, attr) not in _INTERNAL:
                what = "threading.RLock" if type(value) is original_rlock else "threading.Lock"
                found.append(
                    Stale(
                        f"{name}.{attr}",
                        what,
                        "the lock was created before patch_thread() and is not replaced "
                        "(holding it across a cooperative wait blocks the thread)",
                    )
                )
    threading = sys.modules.get("threading")
    if threading is not None:
        main = threading.main_thread()
        for thread in threading.enumerate():
            if thread is main or type(thread).__name__ == "_DummyThread":
                continue
            if getattr(type(thread), "__module__", "").partition(".")[0] in _OURS:
                continue  # a RealThread asked for explicitly
            found.append(
                Stale(
                    repr(thread),
                    "threading.Thread",
                    "the thread was started before patch_thread() and stays a real OS thread",
                )
            )
    return found


def harmless(stale: Stale) -> bool:
    """A stale reference of the generic scan (``_late.find_stale``) not worth a warning: a stdlib
    class derived from threading.local before patching stays per OS thread, as it means to."""
    if stale.original not in _LOCAL_NAMES or not stale.where.startswith("class "):
        return False
    module = stale.where[len("class ") :].partition(".")[0]
    return module in _STDLIB
