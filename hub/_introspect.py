"""Reading greenlets from the outside: which belong to a hub, what each one waits on, its name.

Shared by ``hub.monitor`` and ``hub.util``. Nothing here costs anything until it is called: the
wait a greenlet is suspended in is derived from its suspended frames (the code it runs and that
code's local variables), never recorded when the wait starts. Every wait in ``hub`` keeps its
waiter entry in a local named ``w`` and an fd wait its ``FdState`` in ``st``; that naming is the
one convention this module relies on, and it only degrades the description ("waiting in
Queue.get()") when a wait does not follow it.
"""

from __future__ import annotations

import gc
import os
import traceback
from dataclasses import dataclass
from types import FrameType
from typing import Any

from greenlet import greenlet

from ._core import PENDING, FdState, Hub

__all__ = ["WaitInfo", "describe_wait", "greenlet_name", "hub_greenlets", "running_greenlet"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class WaitInfo:
    """What a greenlet is doing, as read from its frames."""

    #: "running", "ready" (queued to run), "waiting", or "not started".
    state: str
    #: What it waits on: "fd", "timer", "event", "lock", "other", or None when not waiting.
    kind: str | None
    #: A sentence for people: ``waiting for fd 7 to be readable``.
    description: str


def _owner(g: Any) -> Any:
    """The Hub ``g`` runs under (the first Hub among its parents), else its thread's root."""
    while g.parent is not None:
        g = g.parent
        if isinstance(g, Hub):
            return g
    return g


def hub_greenlets(hub: Hub) -> list[Any]:
    """Every live greenlet of ``hub``: the hub itself, its thread's main greenlet, the greenlets
    it runs, and raw greenlets of that thread that belong to no hub.

    A thread can hold several hubs at once (a test's fresh hub inside another one): each
    greenlet belongs to the first Hub among its parents. One pass over ``gc.get_objects()``:
    the price of not keeping a registry on every spawn.
    """
    root = hub.parent
    found = []
    for obj in gc.get_objects():
        if not isinstance(obj, greenlet) or obj.dead:
            continue
        if obj is hub or obj is root:
            found.append(obj)
            continue
        if isinstance(obj, Hub):
            continue  # another hub of this thread, or of another one
        try:
            owner = _owner(obj)
        except Exception:  # a greenlet of a thread that is gone: not ours
            continue
        if owner is hub or owner is root:
            found.append(obj)
    return found


def running_greenlet(hub: Hub) -> Any:
    """The greenlet running in ``hub``'s thread now (callable from another thread), or None.

    The monitor's watchdog calls it while holding the GIL, so the hub's thread waits for it:
    it looks only among the referrers of the hub and of the thread's main greenlet (every
    started greenlet refers to its thread's main one, a Greenlet to its hub too), one
    ``gc.get_referrers`` pass in C, several times cheaper than :func:`hub_greenlets`'s loop.
    """
    root = hub.parent
    for g in (hub, root):
        if g is not None and g.gr_frame is None and greenlet.__bool__(g):
            return g
    candidates = gc.get_referrers(hub) if root is None else gc.get_referrers(hub, root)
    for g in candidates:
        # Started, not dead, not suspended: running (in this thread, if its owner is ours).
        running = isinstance(g, greenlet) and g.gr_frame is None and greenlet.__bool__(g)
        if running and _owner(g) in (hub, root):
            return g
    return None


def greenlet_name(g: Any, hub: Hub | None = None) -> str:
    """``"Greenlet-3"`` for a Greenlet, ``the hub``, ``the main greenlet``, or a raw repr."""
    if isinstance(g, Hub):
        return "the hub"
    if g.parent is None:
        return "the main greenlet"
    name = getattr(g, "name", None)
    if isinstance(name, str):
        return f'greenlet "{name}"'
    return repr(g)


def _qualname(frame: FrameType) -> str:
    code = frame.f_code
    name = getattr(code, "co_qualname", None)
    if name is None:  # Python 3.10: rebuild Class.method from the frame's self
        owner = frame.f_locals.get("self")
        name = code.co_name if owner is None else f"{type(owner).__name__}.{code.co_name}"
    return name


def _in_package(frame: FrameType) -> bool:
    return frame.f_code.co_filename.startswith(_PACKAGE_DIR)


def _kind_of(obj: Any) -> str | None:
    # Imported here: these are layers above the core that import nothing from this module, but
    # a module-level import would make hub._introspect load them all for a monitor alone.
    from ._event import AsyncResult, Event
    from ._lock import Condition, RLock, Semaphore

    if isinstance(obj, (Event, AsyncResult)):
        return "event"
    if isinstance(obj, (Semaphore, RLock, Condition)):
        return "lock"
    return None


def describe_wait(g: Any, hub: Hub | None = None) -> WaitInfo:
    """What ``g`` is doing: running, ready, or waiting (on what), from its suspended frames."""
    if g.gr_frame is None:
        if greenlet.__bool__(g):
            return WaitInfo("running", None, "running")
        if getattr(g, "started", False):  # a Greenlet spawned, queued, not yet run
            return WaitInfo("ready", None, "ready: started, not yet run")
        return WaitInfo("not started", None, "not started")
    if isinstance(g, Hub):
        return WaitInfo("waiting", None, "running the loop between the others")
    # Walk outwards from the switch: the innermost frames are the wait's own, the first one
    # outside ``hub`` is the caller's.
    frame: FrameType | None = g.gr_frame
    waiter = st = site = fds = None
    run: list[FrameType] = []  # the wait's own frames, innermost first
    what = "readable"
    timeout = None
    while frame is not None:
        if _in_package(frame):
            local = frame.f_locals
            if waiter is None and isinstance(local.get("w"), list):
                waiter = local["w"]
            if st is None and isinstance(local.get("st"), FdState):
                st = local["st"]
                if "write" in local:  # Hub.wait_fd, socket methods
                    what = "writable" if local["write"] else "readable"
                else:  # hub.wait_read and friends
                    what = " or ".join(
                        w for w in ("readable", "writable") if local.get(w, w == "readable")
                    )
            if fds is None and isinstance(local.get("readers"), list):  # Hub.wait_fds
                fds = [x.fd for x in (*local["readers"], *local.get("writers", ()))]
            if timeout is None and isinstance(local.get("timeout"), (int, float)):
                timeout = local["timeout"]
            run.append(frame)
        elif run:
            site = f"{frame.f_code.co_filename}:{frame.f_lineno}"
            break
        frame = frame.f_back
    if not run:
        return WaitInfo("waiting", "other", "switched out outside hub (a raw switch)")
    names = [_qualname(f) for f in run]
    # The operation a user called: the outermost frame of the run, unless that is only the
    # Greenlet's own body (``spawn(hub.sleep, 5)``).
    op_index = len(run) - 1
    if op_index > 0 and names[op_index] == "Greenlet.run":
        op_index -= 1
    op = names[op_index]
    if waiter is not None and len(waiter) > 1 and waiter[1] is not PENDING:
        return WaitInfo("ready", None, f"ready: woken in {op}(), queued to run")
    called = f", called at {site}" if site else ""
    limit = f", timeout {timeout:g} s" if timeout is not None else ""
    if st is not None:
        return WaitInfo("waiting", "fd", f"waiting for fd {st.fd} to be {what}{limit}{called}")
    if fds:
        listed = ", ".join(map(str, fds))
        return WaitInfo("waiting", "fd", f"waiting for one of fds {listed}{limit}{called}")
    if "sleep" in names:
        seconds = run[names.index("sleep")].f_locals.get("seconds")
        length = f" {seconds:g} s" if isinstance(seconds, (int, float)) else ""
        return WaitInfo("waiting", "timer", f"sleeping{length} (a timer){called}")
    for f in run:
        owner = f.f_locals.get("self")
        kind = _kind_of(owner) if owner is not None else None
        if kind is not None:
            return WaitInfo(
                "waiting", kind, f"waiting in {op}() on {_safe_repr(owner)}{limit}{called}"
            )
    owner = run[op_index].f_locals.get("self")
    on = f" on {_safe_repr(owner)}" if owner is not None else ""
    return WaitInfo("waiting", "other", f"waiting in {op}(){on}{limit}{called}")


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:
        return object.__repr__(obj)


def format_frames(frame: FrameType | None) -> list[str]:
    """The stack ending at ``frame``, outermost first, as ``traceback.format_stack`` lines."""
    if frame is None:
        return []
    return traceback.format_stack(frame)
