"""The runtime's own machinery never uses the (possibly patched) stdlib names at call time.

The coming threading/queue patches replace ``_thread`` and ``queue`` functions with cooperative
ones. These tests do that by hand, with replacements that fail loudly, and show that the hub's
helpers still run on the originals captured in ``hub._core._originals``.
"""

from __future__ import annotations

import _thread
import encodings.idna  # noqa: F401  (see patched_thread_and_queue)
import queue
import socket as stdlib_socket

import pytest

import hub
from hub import socket
from hub._core import get_hub, get_ident


class _Tripwire:
    """A stand-in for a stdlib callable: records that the runtime called it, then fails."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        raise AssertionError(f"the runtime looked up the patched {self.name} at call time")


@pytest.fixture
def patched_thread_and_queue(monkeypatch):
    """``_thread`` and ``queue`` replaced by hand, as a patch of those modules would.

    (``encodings.idna`` is imported above: the stdlib's ``getaddrinfo`` imports it on first use,
    and importlib takes ``_thread.allocate_lock`` at call time. That is the import system's
    lookup, not the runtime's, and no business of these tests.)
    """
    wires = {
        "start_new_thread": _Tripwire("_thread.start_new_thread"),
        "allocate_lock": _Tripwire("_thread.allocate_lock"),
        "get_ident": _Tripwire("_thread.get_ident"),
        "SimpleQueue": _Tripwire("queue.SimpleQueue"),
    }
    for name in ("start_new_thread", "allocate_lock", "get_ident"):
        monkeypatch.setattr(_thread, name, wires[name])
    if hasattr(_thread, "start_joinable_thread"):
        wires["start_joinable_thread"] = _Tripwire("_thread.start_joinable_thread")
        monkeypatch.setattr(_thread, "start_joinable_thread", wires["start_joinable_thread"])
    monkeypatch.setattr(queue, "SimpleQueue", wires["SimpleQueue"])
    yield wires
    assert not any(w.calls for w in wires.values()), {n: w.calls for n, w in wires.items()}


def test_thread_pool_still_runs_real_os_threads(patched_thread_and_queue):
    # A new hub (the autouse fixture's) gets a new pool, created and started under the patch.
    pool = get_hub().threadpool
    main_ident = get_ident()
    results = [pool.spawn(get_ident) for _ in range(3)]
    idents = [r.get(timeout=30) for r in results]
    assert all(ident != main_ident for ident in idents)  # another OS thread each time
    assert pool.size >= 1


def test_pool_jobs_do_not_block_other_greenlets(patched_thread_and_queue):
    pool = get_hub().threadpool
    gate = hub.Event()
    ran = []

    def other() -> None:
        ran.append(1)
        gate.set()

    hub.spawn(other)
    # The job waits on a real OS lock the greenlet above cannot touch; the hub runs `other`
    # meanwhile, whose Event.set (called across threads) ends the job.
    result = pool.spawn(lambda: gate.wait(30))
    assert result.get(timeout=30) is True
    assert ran == [1]


def test_dns_still_resolves(patched_thread_and_queue):
    ours = socket.getaddrinfo("localhost", 80, socket.AF_INET)
    assert ours == stdlib_socket.getaddrinfo("localhost", 80, socket.AF_INET)


def test_sync_objects_across_threads_still_work(patched_thread_and_queue):
    # Lock and Queue guard their state with a real OS lock taken from the captured originals.
    lock = hub.Lock()
    q: hub.queue.Queue[int] = hub.queue.Queue(1)
    pool = get_hub().threadpool

    def job() -> int:
        q.put(1)
        return 2

    with lock:
        result = pool.spawn(job)
        assert q.get(timeout=30) == 1
    assert result.get(timeout=30) == 2
