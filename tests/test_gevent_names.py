"""Every public name of gevent has a home in greenpatch, or a documented reason why not.

gevent is not imported here (it is no test dependency): its ``__all__`` lists are data, recorded
by tools/gevent_names.py in tests/gevent_names.json. Where each name lives is said once, in the
tables of docs/migrating-from-gevent.md, which this test reads.
"""

from __future__ import annotations

import importlib
import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = os.path.join(ROOT, "tests", "gevent_names.json")
GUIDE = os.path.join(ROOT, "docs", "migrating-from-gevent.md")
NOT_PROVIDED = "—"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*(?:`([^`]+)`|(" + NOT_PROVIDED + r"))\s*\|(.*)\|\s*$")


def _tables() -> tuple[dict[str, tuple[str | None, str]], dict[str, tuple[str | None, str]]]:
    """(module rows, name rows) of the guide: gevent name -> (our dotted name or None, note)."""
    modules: dict[str, tuple[str | None, str]] = {}
    names: dict[str, tuple[str | None, str]] = {}
    current = None
    with open(GUIDE, encoding="utf-8") as f:
        for line in f:
            if line.startswith("### "):
                current = {"### Modules": modules, "### Names that differ": names}.get(line.strip())
                continue
            m = _ROW.match(line)
            if m and current is not None:
                gevent_name, ours, _none, note = m.groups()
                assert gevent_name not in current, f"{gevent_name} has two rows"
                current[gevent_name] = (ours, note.strip())
    return modules, names


def _resolve(dotted: str) -> bool:
    """True if ``dotted`` names an importable module or an attribute of one."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _version_dependent(gevent_module: str, name: str, recorded: dict) -> bool:
    """True for a stdlib name (as recorded) that this Python's stdlib module lacks: not expected.

    A name only gevent adds (``wait_read``, ``nb_read``) was not recorded as a stdlib name, so it
    is always expected.
    """
    stdlib = recorded["stdlib_modules"].get(gevent_module)
    if stdlib is None or name not in recorded["stdlib_names"][gevent_module]:
        return False
    return not hasattr(importlib.import_module(stdlib), name)


def _pending(note: str) -> bool:
    return note.startswith("pending:")


def _recorded() -> dict:
    with open(NAMES, encoding="utf-8") as f:
        data = json.load(f)
    assert data["gevent_version"], "the gevent version the lists come from"
    return data


def _gevent_lists() -> dict[str, list[str]]:
    return _recorded()["modules"]


def test_every_gevent_name_has_a_home_or_a_reason():
    modules, names = _tables()
    recorded = _recorded()
    missing = []
    for gevent_module, public in _gevent_lists().items():
        assert gevent_module in modules, f"no row for module {gevent_module} in the guide"
        our_module, module_note = modules[gevent_module]
        for name in public:
            if name.startswith("_"):
                continue
            full = f"{gevent_module}.{name}"
            if full in names:
                ours, note = names[full]
                if ours is None:
                    assert note, f"{full}: not provided, without a reason"
                    continue
                if _pending(note):
                    continue
                if not _resolve(ours):
                    missing.append(f"{full} -> {ours} (not found)")
                continue
            if our_module is None:
                assert module_note, f"{gevent_module}: not provided, without a reason"
                continue
            if _pending(module_note):
                continue
            if not _resolve(f"{our_module}.{name}") and not _version_dependent(
                gevent_module, name, recorded
            ):
                missing.append(f"{full} -> {our_module}.{name}")
    assert not missing, "gevent names without a home or a documented reason:\n" + "\n".join(missing)


def test_the_guide_has_no_stale_rows():
    """A row for a name gevent does not have, or "not provided" for one we have, is wrong."""
    modules, names = _tables()
    lists = _gevent_lists()
    assert set(modules) == set(lists), "module rows and recorded gevent modules differ"
    stale = []
    for full, (ours, note) in names.items():
        gevent_module, _, name = full.rpartition(".")
        if gevent_module not in lists or name not in lists[gevent_module]:
            stale.append(f"{full}: not in gevent's lists")
            continue
        default, _module_note = modules[gevent_module]
        if ours is None and default is not None and _resolve(f"{default}.{name}"):
            stale.append(f"{full}: marked not provided, yet {default}.{name} exists")
        if ours is not None and _pending(note) and _resolve(ours):
            stale.append(f"{full}: still marked pending, yet {ours} exists")
    for gevent_module, (ours, note) in modules.items():
        if ours is not None and _pending(note) and _resolve(ours):
            stale.append(f"{gevent_module}: still marked pending, yet {ours} exists")
    assert not stale, "\n".join(stale)


@pytest.mark.parametrize("name", ["kill", "spawn_raw", "getswitchinterval", "setswitchinterval"])
def test_names_this_change_added_are_public(name):
    import hub

    assert name in hub.__all__
