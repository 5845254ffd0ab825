"""Real database servers for the tests: PostgreSQL, Redis and MariaDB from Debian's packages.

Each fixture is session-scoped and lazy: the server starts the first time a test asks for it
(tools/dbservers.py: its own temporary directory, a free port on 127.0.0.1 only) and is stopped
at the end of the session, its directory removed.

A missing server package skips its tests with a message naming the Debian package; under CI
(``CI=true``) it fails them instead, so CI never passes by skipping. ``need_module`` does the same
for an optional Python driver (naming the pip package).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tools.dbservers import Server, ServerMissing, run_mariadb, run_postgres, run_redis

__all__ = [
    "Server",
    "mariadb_server",
    "missing",
    "need_module",
    "postgres_server",
    "redis_server",
]


def missing(what: str) -> None:
    """Skip the current test because ``what`` is absent; under CI=true fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (required under CI=true)", pytrace=False)
    pytest.skip(what)


def need_module(module: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or skip (fail under CI) naming the pip ``package`` that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(
            f"Python package {package or module} is not installed (pip install 'greenpatch[db]')"
        )
        raise  # not reached: missing() raises


@contextlib.contextmanager
def _started(runner: Any) -> Iterator[Server]:
    try:
        cm = runner()
        server = cm.__enter__()
    except ServerMissing as exc:
        missing(str(exc))
        raise
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """A PostgreSQL server for the session: user ``postgres`` without password."""
    with _started(run_postgres) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Server]:
    """A redis-server for the session, without persistence."""
    with _started(run_redis) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[Server]:
    """A MariaDB server for the session: user ``root`` without password."""
    with _started(run_mariadb) as server:
        yield server
