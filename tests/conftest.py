"""The project's tests run on greenpatch's own pytest plugin, hub.testing (``-p hub.testing`` in
pyproject.toml): a fresh hub per test, the ``clock`` fixture, the leak check, LoopExit reports."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Real servers (PostgreSQL, Redis, MariaDB), started lazily by the tests that ask for them.
from _dbservers import mariadb_server, postgres_server, redis_server  # noqa: E402, F401
