"""Database drivers written in C: what patch_all() does for them, and what --check says.

Pure-Python drivers (pg8000, PyMySQL, redis-py) use the socket module and need nothing. The
psycopg family does its IO in libpq, but lets the caller choose how to wait (hub/dbwait.py):

- **psycopg 3** picks its wait function when ``psycopg.waiting`` is imported: ``wait_c`` (its C
  extension, which blocks the thread) unless the ``PSYCOPG_WAIT_FUNC`` environment variable
  names another of its own, or gevent's monkey-patching is detected (it looks for
  ``gevent.monkey`` only). Its connections look ``psycopg.waiting.wait`` up at every call.
  So: if psycopg is already imported, ``waiting.wait`` is set to :func:`hub.dbwait.wait_psycopg`;
  if not, ``PSYCOPG_WAIT_FUNC=wait_poll`` is put in the environment (unless the user set it),
  which makes psycopg choose its own poll()-based function, cooperative because ``select.poll``
  is patched by then. Importing psycopg here instead would cost every patched program a quarter
  of a second when psycopg is installed, used or not. The variable is inherited by child
  processes, where it is harmless: wait_poll is a correct blocking wait without patching.
  ``patch_psycopg()`` after importing psycopg installs the hub's own (faster) wait function.
- **psycopg2** has no such variable, so when it is installed, patch_all() imports
  ``psycopg2.extensions`` (a few tens of milliseconds) and sets its wait callback; a callback
  the user set already is left alone (and reported by --check).
- **mysqlclient** (``MySQLdb``) blocks inside libmariadb/libmysqlclient with no hook at all: it
  cannot cooperate. --check says so; use PyMySQL, or run its calls in ``hub.threadpool``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, NamedTuple

from hub import dbwait

__all__ = ["DriverStatus", "patch_psycopg", "patch_psycopg_if_present", "status"]

_ENV = "PSYCOPG_WAIT_FUNC"
# psycopg's own wait functions that wait through the select/selectors modules (cooperative once
# those are patched); wait_c is its C one, which blocks.
_PSYCOPG_PYTHON_WAITS = ("wait_poll", "wait_select", "wait_selector", "wait_epoll")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _patch_psycopg3(import_it: bool, select_patched: bool) -> None:
    waiting: Any = sys.modules.get("psycopg.waiting")
    if waiting is None and import_it and _installed("psycopg"):
        waiting = importlib.import_module("psycopg.waiting")
    if waiting is not None:
        waiting.wait = dbwait.wait_psycopg
    elif select_patched and _installed("psycopg"):
        os.environ.setdefault(_ENV, "wait_poll")


def _patch_psycopg2() -> None:
    if "psycopg2.extensions" not in sys.modules and not _installed("psycopg2"):
        return
    try:
        from psycopg2 import extensions
    except ImportError:
        return  # installed but broken (no libpq): nothing to make cooperative
    current = extensions.get_wait_callback()
    if current is None:
        extensions.set_wait_callback(dbwait.psycopg2_wait_callback)


def patch_psycopg_if_present(select_patched: bool) -> None:
    """What patch_all() does: see the module docstring."""
    _patch_psycopg3(import_it=False, select_patched=select_patched)
    _patch_psycopg2()


def patch_psycopg() -> None:
    """Make psycopg 3 and psycopg2 (those installed) wait on the hub; importing them if needed."""
    _patch_psycopg3(import_it=True, select_patched=False)
    _patch_psycopg2()


class DriverStatus(NamedTuple):
    """One loaded driver, as --check reports it."""

    name: str
    cooperative: bool
    how: str


def _psycopg3_status(select_patched: bool) -> DriverStatus:
    waiting = sys.modules["psycopg.waiting"]
    wait = getattr(waiting, "wait", None)
    name = getattr(wait, "__name__", repr(wait))
    if wait is dbwait.wait_psycopg:
        return DriverStatus("psycopg", True, "wait function hub.dbwait.wait_psycopg")
    if name in _PSYCOPG_PYTHON_WAITS and select_patched:
        return DriverStatus(
            "psycopg", True, f"wait function psycopg.waiting.{name} on patched select"
        )
    return DriverStatus(
        "psycopg",
        False,
        f"wait function psycopg.waiting.{name} blocks the hub: call monkeypatch.patch_psycopg()",
    )


def _psycopg2_status() -> DriverStatus:
    from psycopg2 import extensions

    callback = extensions.get_wait_callback()
    if callback is dbwait.psycopg2_wait_callback:
        return DriverStatus("psycopg2", True, "wait callback hub.dbwait.psycopg2_wait_callback")
    if callback is None:
        return DriverStatus(
            "psycopg2", False, "no wait callback, libpq blocks: call monkeypatch.patch_psycopg()"
        )
    where = f"{getattr(callback, '__module__', '?')}.{getattr(callback, '__qualname__', callback)}"
    return DriverStatus("psycopg2", False, f"wait callback {where} is not greenpatch's")


def status(select_patched: bool, socket_patched: bool) -> list[DriverStatus]:
    """Each loaded database or cache driver and whether it cooperates with the hub."""
    found = []
    if "psycopg.waiting" in sys.modules:
        found.append(_psycopg3_status(select_patched))
    if "psycopg2.extensions" in sys.modules:
        found.append(_psycopg2_status())
    if "MySQLdb" in sys.modules:
        found.append(
            DriverStatus(
                "mysqlclient (MySQLdb)",
                False,
                "its C client library blocks the hub and has no wait hook: use PyMySQL, "
                "or run its calls in hub.threadpool",
            )
        )
    pure = (("pg8000", "pg8000"), ("pymysql", "PyMySQL"), ("redis", "redis-py"))
    for module, name in pure:
        if module in sys.modules:
            if socket_patched:
                found.append(DriverStatus(name, True, "pure Python on the patched socket module"))
            else:
                found.append(DriverStatus(name, False, "pure Python, but socket is not patched"))
    return found
