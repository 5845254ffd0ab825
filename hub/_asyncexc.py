"""``ctypes.pythonapi.PyThreadState_SetAsyncExc`` for green threads.

``PyThreadState_SetAsyncExc(ident, exc)`` asks the interpreter to raise ``exc`` in the thread
whose ident is ``ident`` the next time that thread runs Python code; it answers how many thread
states it changed (0 for an unknown ident, 1 otherwise). Programs use it to stop a worker
thread (watchdogs, test runners, "killable thread" recipes). After ``patch_thread()`` a thread
is a greenlet and its ident one of ``hub._thread``'s numbers, which no thread state carries, so
the C function would answer 0 and do nothing.

The ``thread`` row of the patch table sets ``ctypes.pythonapi.PyThreadState_SetAsyncExc`` (on
the stdlib's own ``pythonapi`` object, where ctypes caches the functions it looked up) to
:data:`pythonapi`'s :class:`SetAsyncExc`, which keeps the C function's behaviour for every
other ident and, for a green thread's:

- the thread is the caller itself: the C function is called with the OS thread's ident, which
  raises the exception in the caller at its next bytecode, exactly as the stdlib does;
- the thread waits (it is suspended in its hub): the exception is thrown into it by its hub,
  like ``Greenlet.kill`` (through ``run_threadsafe`` when the thread is another OS thread's), so
  it comes out of the wait it is in. The stdlib raises it once a blocking C call returns; here
  the wait ends at once;
- ``exc`` NULL (``None``, or an empty ``ctypes.py_object``): a pending exception not yet
  delivered is cancelled, as the C function clears its pending one.

The OS thread's own ident names its root greenlet (``threading.main_thread()`` in the main
thread): called from another greenlet of that thread, the exception goes to the root greenlet
the same way, not to whichever greenlet happens to run.

Only the attribute is replaced: a function fetched before patching, or through
``ctypes.pythonapi["PyThreadState_SetAsyncExc"]`` or another ``PyDLL``, is the plain C one.
"""

from __future__ import annotations

import ctypes
from types import SimpleNamespace
from typing import Any

from greenlet import getcurrent

from . import _core
from ._core import Hub, Throw
from ._thread import find_green_thread

__all__ = ["SetAsyncExc", "pythonapi"]


def _raw_function() -> Any:
    # A _FuncPtr of our own (item access makes a new one each time; attribute access caches):
    # the argtypes a program sets on the one it uses never change how we call ours.
    function = ctypes.pythonapi["PyThreadState_SetAsyncExc"]
    function.argtypes = (ctypes.c_ulong, ctypes.py_object)
    function.restype = ctypes.c_int
    return function


_raw = _raw_function()
# ident -> the throw queued for that green thread and not yet run (one per thread, as the C
# function keeps one pending exception per thread state).
_pending: dict[int, _AsyncThrow] = {}


class _AsyncThrow(Throw):
    __slots__ = ("ident",)

    def __init__(self, target: Any, exc: Any, ident: int) -> None:
        super().__init__(target, exc)
        self.ident = ident

    def switch(self) -> None:
        if _pending.get(self.ident) is self:
            _pending.pop(self.ident, None)  # another thread may have replaced it meanwhile
        super().switch()


class SetAsyncExc:
    """``PyThreadState_SetAsyncExc`` that also reaches green threads (module docstring).

    Attributes (``argtypes``, ``restype``, ``errcheck``, ...) are the C function's: setting
    them sets them there, and calls for other idents go through it as they are.
    """

    __slots__ = ("_function",)

    def __init__(self, function: Any) -> None:
        object.__setattr__(self, "_function", function)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._function, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._function, name, value)

    def __call__(self, ident: Any, exc: Any) -> int:
        """Raise ``exc`` asynchronously in the thread ``ident``; the number of threads changed."""
        key = ident.value if isinstance(ident, ctypes._SimpleCData) else ident
        if isinstance(key, int) and not isinstance(key, bool):
            target = _green_target(key)
            if target is not None:
                return _deliver(target, key, _exception_of(exc))
        return int(self._function(ident, exc))

    def __repr__(self) -> str:
        return f"<greenpatch SetAsyncExc of {self._function!r}>"


def _green_target(ident: int) -> Any:
    """The greenlet ``ident`` names when it is not a plain OS thread's: a green thread, or
    this thread's root greenlet while another greenlet of it runs."""
    thread = find_green_thread(ident)
    if thread is not None:
        return thread
    if ident == _core.get_ident():
        root = getcurrent()
        while root.parent is not None:
            root = root.parent
        return root
    return None


def _exception_of(exc: Any) -> Any:
    """The object a caller passed, unwrapped; None for NULL."""
    if isinstance(exc, ctypes.py_object):
        try:
            return exc.value
        except ValueError:  # an empty py_object is a NULL pointer
            return None
    return exc


def _deliver(target: Any, ident: int, exc: Any) -> int:
    previous = _pending.pop(ident, None)
    if previous is not None:
        previous.cancel()
    if exc is None:
        return 1  # cleared; the C function counts that thread state too
    if target is getcurrent():
        # Running now: the C function raises it at the caller's next bytecode.
        return int(_raw(_core.get_ident(), exc))
    hub = target.parent if isinstance(target.parent, Hub) else _core.get_hub()
    entry = _pending[ident] = _AsyncThrow(target, exc, ident)
    if hub.thread_ident == _core.get_ident():
        hub.schedule(entry)
    else:
        hub.run_threadsafe(hub.schedule, entry)
    return 1


#: What the patch table's ``pythonapi.PyThreadState_SetAsyncExc`` reads.
#: The function behind it is a new ``_FuncPtr`` without argtypes, as ctypes makes them.
pythonapi = SimpleNamespace(
    PyThreadState_SetAsyncExc=SetAsyncExc(ctypes.pythonapi["PyThreadState_SetAsyncExc"])
)
