"""Make the blocking standard library cooperative: ``import monkeypatch; monkeypatch.patch_all()``.

After it, unmodified code that uses socket, DNS, time.sleep, select or selectors (urllib,
http.client, requests, socketserver, ...) runs on the calling thread's hub: a blocking call
suspends only the greenlet that made it. What is replaced is listed, row by row, in
``monkeypatch/_table.py``; nothing else is touched, and nothing happens at import time.

Call it as early as possible, before other modules import names such as
``from socket import create_connection``: such copies still point at the blocking originals, and
``patch_all()`` names each one it finds in a :class:`MonkeyPatchWarning`.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Iterable
from typing import Any

from ._table import OPTIONS, TABLE, Patch

__all__ = [
    "MonkeyPatchWarning",
    "get_original",
    "is_module_patched",
    "is_object_patched",
    "patch_all",
    "patch_dns",
    "patch_select",
    "patch_socket",
    "patch_ssl",
    "patch_time",
]


class MonkeyPatchWarning(RuntimeWarning):
    """Something patch_all() could not make cooperative; the message says what and why."""


# (module name, attribute) -> the stdlib object that was there before we replaced it.
_originals: dict[tuple[str, str], Any] = {}
# (module name, attribute) -> what we put there.
_replacements: dict[tuple[str, str], Any] = {}
_warned: set[tuple[str, str]] = set()


def _apply(row: Patch) -> list[tuple[str, str]]:
    """Replace the row's attributes; return the (module, name) pairs that changed now."""
    target = importlib.import_module(row.module)
    source = importlib.import_module(row.source)
    changed = []
    for name in row.names:
        key = (row.module, name)
        if key in _originals:
            continue  # already patched: patching twice is harmless
        if not hasattr(source, name):
            continue  # the platform lacks it (epoll outside Linux): nothing to replace
        _originals[key] = getattr(target, name, None)
        replacement = getattr(source, name)
        _replacements[key] = replacement
        setattr(target, name, replacement)
        changed.append(key)
    return changed


def _patch(options: Iterable[str], warn: bool = True) -> None:
    wanted = set(options)
    changed = []
    for row in TABLE:
        if row.option in wanted:
            changed += _apply(row)
    if warn and changed:
        _warn_about_stale_references(changed)


def patch_all(
    socket: bool = True,
    dns: bool = True,
    time: bool = True,
    select: bool = True,
    ssl: bool = True,
    **more: bool,
) -> None:
    """Make the blocking stdlib cooperative (each keyword turns one group on or off).

    Idempotent. An unknown keyword raises TypeError naming it.
    """
    for name in more:
        raise TypeError(
            f"patch_all() got an unexpected keyword argument {name!r} (known: {', '.join(OPTIONS)})"
        )
    enabled = {"socket": socket, "dns": dns, "time": time, "select": select, "ssl": ssl}
    _patch([name for name in OPTIONS if enabled[name]])


def patch_socket(dns: bool = True) -> None:
    """Cooperative socket objects and connection helpers (and, with ``dns``, name resolution)."""
    _patch(["socket", "dns"] if dns else ["socket"])


def patch_dns() -> None:
    """Cooperative name resolution: getaddrinfo and friends run in the hub's thread pool."""
    _patch(["dns"])


def patch_time() -> None:
    """Cooperative ``time.sleep``."""
    _patch(["time"])


def patch_select() -> None:
    """Cooperative ``select.select``/``poll``/``epoll`` and ``selectors`` classes."""
    _patch(["select"])


def patch_ssl() -> None:
    """Reserved for the cooperative ssl module; patches nothing yet."""
    _patch(["ssl"])


def is_module_patched(name: str) -> bool:
    """True if any attribute of the stdlib module ``name`` has been replaced."""
    return any(module == name for module, _ in _originals)


def is_object_patched(module_name: str, attr: str) -> bool:
    """True if ``module_name.attr`` has been replaced."""
    return (module_name, attr) in _originals


def get_original(module_name: str, name_or_names: str | Iterable[str]) -> Any:
    """The stdlib's own object(s) for ``module_name.name``, patched or not.

    With a list of names, returns a list in the same order.
    """
    if isinstance(name_or_names, str):
        key = (module_name, name_or_names)
        if key in _originals:
            return _originals[key]
        return getattr(importlib.import_module(module_name), name_or_names)
    return [get_original(module_name, name) for name in name_or_names]


# -- late patching --------------------------------------------------------------------------


def _warn_about_stale_references(changed: list[tuple[str, str]]) -> None:
    """Name every loaded module that kept its own reference to an object we just replaced.

    ``from socket import create_connection`` (or ``_Selector = selectors.PollSelector``) executed
    before patch_all() leaves the module holding the blocking original; calls through it block.
    """
    by_id = {id(_originals[key]): key for key in changed if _originals[key] is not None}
    if not by_id:
        return
    patched_modules = {module for module, _ in changed}
    for module_name, module in list(sys.modules.items()):
        if (
            module is None
            or module_name in patched_modules
            or module_name.split(".")[0] in ("hub", "monkeypatch")
        ):
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            key = by_id.get(id(value))
            if key is None or _originals[key] is not value:
                continue
            if getattr(value, "__module__", None) == module_name:
                continue  # where the original is defined (_socket for socket's C functions)
            if (module_name, attr) in _warned:
                continue
            _warned.add((module_name, attr))
            warnings.warn(
                f"{module_name}.{attr} still refers to the blocking {key[0]}.{key[1]}: "
                f"{module_name} was imported before monkeypatch.patch_all(); call patch_all() "
                "earlier (first thing in the program) so calls through it are cooperative",
                MonkeyPatchWarning,
                stacklevel=4,
            )
