"""Every test runs on a fresh hub, so greenlets a test leaves behind never run in the next one."""

from __future__ import annotations

import gc
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Real servers (PostgreSQL, Redis, MariaDB), started lazily by the tests that ask for them.
from _servers import mariadb_server, postgres_server, redis_server  # noqa: E402, F401

from hub.testing import fresh_hub, virtual_time  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_hub():
    with fresh_hub() as hub:
        yield hub
    gc.collect()


@pytest.fixture
def clock():
    """A VirtualClock driving a fresh hub for the test: timers fire instantly, in order."""
    with virtual_time() as c:
        yield c
