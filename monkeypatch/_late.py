"""Late patching: modules loaded before patch_all() get the cooperative objects too.

A module that ran ``from socket import create_connection`` (or ``_Selector =
selectors.PollSelector``) before patch_all() holds the blocking original under its own name, and
replacing ``socket.create_connection`` does not change that copy. ``heal()`` finds such copies
and rebinds them; ``find_stale()`` names the references it cannot rebind safely. docs/patching.md
states the rules; in short:

Healed (rebound to the replacement):
    a *module global* of any loaded module that is the very object we replaced (function or
    class), whatever its name there. That is exactly what the module would hold had it been
    imported after patch_all(). Never rebound: globals of our own packages (``hub``,
    ``monkeypatch``: they keep originals on purpose), of the stdlib module we patched (its
    attribute *is* the patch), and of the module that defines the original.

Only named (a MonkeyPatchWarning each), because rebinding could change what the code means or
reach into objects we do not own:
    - default argument values and closure cells of functions (module-level functions and
      methods of module-level classes);
    - class attributes of classes defined in loaded modules;
    - ``functools.partial`` objects held by module globals;
    - classes that *derive* from a replaced class (``class Conn(socket.socket)``), and subclasses
      of a patched class that override the patched attribute (an ``SSLContext`` subclass with its
      own ``sslsocket_class``);
    - sockets created before patching that are still open (they stay blocking).

Not detected: originals kept in containers (dicts, lists), in instance attributes (other than
open sockets), in nested functions or classes, or bound into C extensions.
"""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Sequence
from types import FunctionType
from typing import Any, NamedTuple

__all__ = ["Healed", "Stale", "all_subclasses", "find_stale", "heal"]

_OURS = ("hub", "monkeypatch")
_DEFAULT = "a default argument value is not rebound"
_CLOSURE = "a closure variable is not rebound"
_CLASS_ATTRIBUTE = "a class attribute is not rebound"


class Healed(NamedTuple):
    """A module global that held a replaced original and now holds the replacement."""

    module: str
    name: str
    original: str  # "socket.create_connection"


class Stale(NamedTuple):
    """A reference to a blocking original that patch_all() could not rebind."""

    where: str  # what holds it, e.g. "sched.scheduler.__init__ (default of 'delayfunc')"
    original: str  # what it is, e.g. "time.sleep"
    why: str  # why it is not healed, e.g. "a default argument value is not rebound"


# key: (stdlib module, attribute or "Class.attribute"); value: (original, replacement).
Patched = dict[tuple[str, str], tuple[Any, Any]]


def _ours(module_name: str) -> bool:
    return module_name.partition(".")[0] in _OURS


Namespaces = Sequence[tuple[str, dict[str, Any]]]


def _modules(extra: Namespaces = ()) -> list[tuple[str, dict[str, Any]]]:
    """(name, namespace) of every loaded module but ours, and of ``extra``."""
    result = list(extra)
    seen = set()
    for name, module in list(sys.modules.items()):
        if module is None or _ours(name) or id(module) in seen:
            continue  # an alias (multiprocessing's __mp_main__ is __main__) is scanned once
        seen.add(id(module))
        namespace = getattr(module, "__dict__", None)
        if isinstance(namespace, dict):
            result.append((name, namespace))
    return result


def _module_level(patched: Patched) -> dict[int, list[tuple[str, str, Any, Any]]]:
    """id(original) -> [(module, name, original, replacement)] for rows naming a module global.

    Several rows can share an original (``selectors.DefaultSelector`` is ``EpollSelector``).
    Rows that patch an attribute of a class (``SSLContext.sslsocket_class``) leave the module's
    globals alone, so copies of those globals are not stale.
    """
    by_id: dict[int, list[tuple[str, str, Any, Any]]] = {}
    # A row may replace what an earlier row installed (multiprocessing.connection._WaitSelector
    # holds the cooperative PollSelector by the time its own row runs). Such an "original" is
    # ours and cooperative already: references to it need no healing, and healing them would
    # rebind the earlier row's own patch (selectors.PollSelector) to the later replacement.
    ours = {id(replacement) for _original, replacement in patched.values()}
    for (module, name), (original, replacement) in patched.items():
        if "." in name or original is None or original is replacement or id(original) in ours:
            continue
        by_id.setdefault(id(original), []).append((module, name, original, replacement))
    return by_id


def heal(patched: Patched, dry_run: bool = False, extra: Namespaces = ()) -> list[Healed]:
    """Rebind every module global that is a replaced original; return what was rebound.

    With ``dry_run``, only report what would be rebound. ``extra``: more (name, namespace)
    pairs to treat as modules (a program's ``__main__`` that runpy already unloaded).
    """
    by_id = _module_level(patched)
    healed: list[Healed] = []
    if not by_id:
        return healed
    for module_name, namespace in _modules(extra):
        # Most modules hold no original at all: find that out in C (set.isdisjoint over the
        # ids of the values) before looking at each name in Python.
        if by_id.keys().isdisjoint(map(id, list(namespace.values()))):
            continue
        for attr, value in list(namespace.items()):
            rows = by_id.get(id(value))
            if rows is None or getattr(value, "__module__", None) == module_name:
                continue
            rows = [r for r in rows if r[2] is value and r[0] != module_name]
            if not rows:
                continue
            # Prefer the row of the same name (DefaultSelector vs EpollSelector).
            module, name, _original, replacement = next((r for r in rows if r[1] == attr), rows[0])
            if not dry_run:
                namespace[attr] = replacement
            healed.append(Healed(module_name, attr, f"{module}.{name}"))
    return healed


# -- what cannot be healed ------------------------------------------------------------------


def find_stale(patched: Patched, extra: Namespaces = ()) -> list[Stale]:
    """Every reference to a replaced original that heal() leaves alone, as far as detectable
    (``extra`` as for heal())."""
    by_id = _module_level(patched)
    found: list[Stale] = []
    if by_id:
        names = {i: f"{rows[0][0]}.{rows[0][1]}" for i, rows in by_id.items()}
        for module_name, namespace in _modules(extra):
            _scan_module(module_name, namespace, by_id, names, found)
        _scan_subclasses(by_id, found)
        _scan_sockets(patched, found)
    _scan_patched_attributes(patched, found)
    return [stale for stale in found if (stale.where, stale.original) not in _NON_BLOCKING]


# References that only ever make non-blocking calls through the original: nothing to report.
_NON_BLOCKING = {
    # Popen.poll() and __del__: waitpid(pid, WNOHANG), which the cooperative one passes through.
    ("subprocess.Popen._internal_poll (default of '_waitpid')", "os.waitpid"),
    # Python 3.13+: the same calls, through a namespace class.
    ("subprocess._del_safe.waitpid", "os.waitpid"),
    # Python 3.10: the class attribute the stdlib's Connection._recv reads with, which the
    # multiprocessing row replaces (hub/_multiprocessing.py); nothing else reads it.
    ("multiprocessing.connection.Connection._read", "os.read"),
}


# The packages of the runtime itself.
_RUNTIME_PACKAGES = {"hub", "monkeypatch"}

# Methods set only to be faster: the stdlib's own is cooperative too once the locks under it are
# patched, so a subclass that overrides them (and calls super(), or not) is not stale.
# (threading's Condition and Event: the stdlib's wait() blocks on a lock from the patched
# _allocate_lock, and the patched notify() releases such a lock; see hub/threading.py.)
_SPEED_ONLY = {
    ("queue", "Queue.put"),
    ("queue", "Queue.get"),
    ("threading", "Condition.wait"),
    ("threading", "Condition.notify"),
    ("threading", "Event.wait"),
    ("threading", "Event.set"),
}


def _original_name(value: Any, by_id: dict[int, Any], names: dict[int, str]) -> str | None:
    rows = by_id.get(id(value))
    if rows is None:
        return None
    for row in rows:
        if row[2] is value:
            return names[id(value)]
    return None


def _scan_module(
    module_name: str,
    namespace: dict[str, Any],
    by_id: dict[int, Any],
    names: dict[int, str],
    found: list[Stale],
) -> None:
    for attr, value in list(namespace.items()):
        kind = type(value)
        if kind is FunctionType:
            if value.__module__ == module_name:
                _scan_function(value, f"{module_name}.{attr}", by_id, names, found)
        elif kind is functools.partial:
            for part in (value.func, *value.args, *value.keywords.values()):
                original = _original_name(part, by_id, names)
                if original is not None:
                    found.append(
                        Stale(
                            f"{module_name}.{attr} (a functools.partial)",
                            original,
                            "a functools.partial made before patch_all() is not rebound",
                        )
                    )
        elif isinstance(value, type) and value.__module__ == module_name:
            _scan_class(value, f"{module_name}.{value.__qualname__}", by_id, names, found)


def _scan_class(
    cls: type, where: str, by_id: dict[int, Any], names: dict[int, str], found: list[Stale]
) -> None:
    items = list(vars(cls).items())
    holds_original = not by_id.keys().isdisjoint([id(value) for _, value in items])
    for attr, value in items:
        if holds_original:
            original = _original_name(value, by_id, names)
            if original is not None:
                found.append(Stale(f"{where}.{attr}", original, _CLASS_ATTRIBUTE))
                continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if type(value) is FunctionType:
            _scan_function(value, f"{where}.{attr}", by_id, names, found)


def _scan_function(
    fn: Any, where: str, by_id: dict[int, Any], names: dict[int, str], found: list[Stale]
) -> None:
    if (fn.__module__ or "").partition(".")[0] in _RUNTIME_PACKAGES:
        # A replacement the patch table set on a stdlib class (Connection._recv): the runtime
        # holds the originals on purpose, as it never waits on itself.
        return
    defaults = fn.__defaults__
    if defaults and not by_id.keys().isdisjoint(map(id, defaults)):
        code = fn.__code__
        params = code.co_varnames[code.co_argcount - len(defaults) : code.co_argcount]
        for param, value in zip(params, defaults, strict=True):
            original = _original_name(value, by_id, names)
            if original is not None:
                found.append(Stale(f"{where} (default of {param!r})", original, _DEFAULT))
    kwdefaults = fn.__kwdefaults__
    if kwdefaults and not by_id.keys().isdisjoint(map(id, kwdefaults.values())):
        for param, value in kwdefaults.items():
            original = _original_name(value, by_id, names)
            if original is not None:
                found.append(Stale(f"{where} (default of {param!r})", original, _DEFAULT))
    closure = fn.__closure__
    if closure:
        for name, cell in zip(fn.__code__.co_freevars, closure, strict=True):
            try:
                value = cell.cell_contents
            except ValueError:
                continue  # empty cell
            original = _original_name(value, by_id, names)
            if original is not None:
                found.append(Stale(f"{where} (closure variable {name!r})", original, _CLOSURE))


def all_subclasses(cls: type) -> list[type]:
    """Every class derived from ``cls``, directly or not (each once)."""
    seen: dict[int, type] = {}
    todo: list[type] = [cls]
    sub: type
    while todo:
        for sub in type.__subclasses__(todo.pop()):
            if id(sub) not in seen:
                seen[id(sub)] = sub
                todo.append(sub)
    return list(seen.values())


def _covered(subclasses: list[type]) -> set[int]:
    """Classes our own classes derive from: handled by their cooperative subclass (the stdlib's
    ssl.SSLSocket, from which hub.ssl.SSLSocket derives)."""
    covered: set[int] = set()
    for sub in subclasses:
        if _ours(getattr(sub, "__module__", "") or ""):
            covered.update(id(c) for c in sub.__mro__)
    return covered


def _scan_subclasses(by_id: dict[int, Any], found: list[Stale]) -> None:
    """Classes defined before patching that derive from a replaced class."""
    for rows in by_id.values():
        module, name, original, replacement = rows[0]
        if not isinstance(original, type) or not isinstance(replacement, type):
            continue
        subclasses = all_subclasses(original)
        covered = _covered(subclasses)
        for sub in subclasses:
            sub_module = getattr(sub, "__module__", "") or ""
            if (
                id(sub) in covered
                or _ours(sub_module)
                or sub_module == module
                or issubclass(sub, replacement)
            ):
                continue
            found.append(
                Stale(
                    f"class {sub_module}.{sub.__qualname__}",
                    f"{module}.{name}",
                    "the class was defined before patch_all() and derives from it",
                )
            )


def _scan_patched_attributes(patched: Patched, found: list[Stale]) -> None:
    """Subclasses that override a patched class attribute with something not cooperative."""
    for (module, dotted), (_original, replacement) in patched.items():
        if "." not in dotted or (module, dotted) in _SPEED_ONLY:
            continue
        class_path, _, attr = dotted.rpartition(".")
        owner: Any = sys.modules.get(module)
        for part in class_path.split("."):
            owner = getattr(owner, part, None)
        if not isinstance(owner, type):
            continue
        for sub in all_subclasses(owner):
            if _ours(getattr(sub, "__module__", "") or "") or attr not in vars(sub):
                continue
            value = vars(sub)[attr]
            if isinstance(replacement, type) and isinstance(value, type):
                if issubclass(value, replacement):
                    continue
            elif value is replacement:
                continue
            found.append(
                Stale(
                    f"{sub.__module__}.{sub.__qualname__}.{attr}",
                    f"{module}.{dotted}",
                    f"it overrides the patched {class_path}.{attr}",
                )
            )


def _scan_sockets(patched: Patched, found: list[Stale]) -> None:
    """Open sockets created before patching: they stay blocking."""
    row = patched.get(("socket", "socket"))
    if row is None:
        return
    original, replacement = row
    # Exact types, so no object's __class__ (a proxy's, say) runs while we look.
    classes = [
        cls for cls in (original, *all_subclasses(original)) if not issubclass(cls, replacement)
    ]
    kinds = {id(cls) for cls in classes}
    # An instance of a class defined in Python refers to its class for the garbage collector,
    # so gc.get_referrers() finds every such socket in one pass in C (walking gc.get_objects()
    # in Python took most of this function's time).
    for obj in gc.get_referrers(*classes):
        if id(type(obj)) not in kinds:
            continue
        try:
            if obj.fileno() < 0:
                continue
            what = repr(obj)
        except Exception:
            continue
        found.append(Stale(what, "socket.socket", "it was created before patch_all()"))
