"""Name resolution in the thread pool, and the thread pool itself."""

from __future__ import annotations

import os
import socket as stdlib_socket
import threading
import time

import pytest

import hub
from hub import socket
from hub._core import get_hub
from hub.threadpool import ThreadPool

_thread_sleep = time.sleep  # the stdlib's, even if a test patched the module


def test_numeric_lookups_need_no_thread():
    pool = get_hub().threadpool
    before = pool.size
    assert socket.getaddrinfo("127.0.0.1", 80) == stdlib_socket.getaddrinfo("127.0.0.1", 80)
    assert socket.getaddrinfo("::1", 80, socket.AF_INET6)[0][4][0] == "::1"
    assert socket.getaddrinfo(None, 0, flags=socket.AI_PASSIVE)
    assert socket.gethostbyname("10.1.2.3") == "10.1.2.3"
    assert socket.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV) == (
        "127.0.0.1",
        "80",
    )
    assert pool.size == before


def test_names_resolve_like_the_stdlib():
    assert socket.getaddrinfo("localhost", 80, socket.AF_INET) == stdlib_socket.getaddrinfo(
        "localhost", 80, socket.AF_INET
    )
    assert socket.gethostbyname("localhost") == stdlib_socket.gethostbyname("localhost")
    assert socket.gethostbyname_ex("localhost")[2] == stdlib_socket.gethostbyname_ex("localhost")[2]
    assert socket.gethostbyaddr("127.0.0.1") == stdlib_socket.gethostbyaddr("127.0.0.1")
    assert socket.getnameinfo(("127.0.0.1", 80), 0) == stdlib_socket.getnameinfo(
        ("127.0.0.1", 80), 0
    )
    assert socket.getfqdn() == stdlib_socket.getfqdn()
    assert socket.getfqdn("127.0.0.1") == stdlib_socket.getfqdn("127.0.0.1")
    assert socket.getaddrinfo("127.0.0.1", "http") == stdlib_socket.getaddrinfo("127.0.0.1", "http")


def test_resolution_errors_are_the_stdlibs():
    with pytest.raises(socket.gaierror) as ours:
        socket.getaddrinfo("no-such-host.invalid", 80)
    with pytest.raises(stdlib_socket.gaierror) as theirs:
        stdlib_socket.getaddrinfo("no-such-host.invalid", 80)
    assert ours.value.errno == theirs.value.errno
    with pytest.raises(socket.gaierror):
        socket.gethostbyname("no-such-host.invalid")
    with pytest.raises(TypeError):
        socket.getaddrinfo(object(), 80)
    with pytest.raises(TypeError):
        socket.gethostbyname(None)


def test_lookups_run_concurrently_with_other_greenlets():
    ticks = []

    def ticker():
        for _ in range(5):
            ticks.append(1)
            hub.sleep(0)

    t = hub.spawn(ticker)
    infos = socket.getaddrinfo("localhost", 80)
    t.join()
    assert infos and len(ticks) == 5


def test_a_stuck_call_never_blocks_the_hub():
    pool = ThreadPool(2)
    release = threading.Event()
    stuck = pool.spawn(release.wait, 30)  # a real block, in a worker thread
    beats = []

    def heartbeat():
        for _ in range(5):
            hub.sleep(0.01)
            beats.append(time.monotonic())

    hub.spawn(heartbeat).join(timeout=10)
    assert len(beats) == 5 and not stuck.ready()
    release.set()
    assert stuck.get(timeout=10) is True


def test_pool_results_and_errors():
    pool = ThreadPool(3)
    assert pool.apply(sum, ([1, 2, 3],)) == 6
    assert pool.spawn(pow, 2, 10).get() == 1024
    r = pool.spawn(int, "not a number")
    with pytest.raises(ValueError):
        r.get()
    assert r.ready() and not r.successful() and isinstance(r.exception, ValueError)
    assert pool.spawn(threading.get_ident).get() != threading.get_ident()


def test_pool_is_bounded():
    pool = ThreadPool(3)
    lock = threading.Lock()
    running = [0, 0]  # now, peak

    def job():
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    results = [pool.spawn(job) for _ in range(12)]
    hub.joinall([hub.spawn(r.get) for r in results])
    assert running[1] <= 3
    assert pool.size <= 3


def test_pool_result_timeouts():
    pool = ThreadPool(1)
    release = threading.Event()
    r = pool.spawn(release.wait, 30)
    with pytest.raises(hub.Timeout):
        r.get(block=False)
    with pytest.raises(hub.Timeout):
        r.get(timeout=0.01)
    assert r.wait(timeout=0.01) is False
    release.set()
    assert r.wait(timeout=10) is True


def test_pool_result_works_with_wait():
    pool = ThreadPool(2)
    results = [pool.spawn(time.sleep, 0.01) for _ in range(3)]
    done = hub.wait(results, timeout=10)
    assert len(done) == 3


def test_pool_keeps_the_hub_alive_instead_of_loopexit():
    pool = ThreadPool(1)
    assert pool.spawn(time.sleep, 0.2).get() is None  # no LoopExit while the job runs


def test_hub_has_its_own_pool():
    assert get_hub().threadpool is get_hub().threadpool
    assert isinstance(get_hub().threadpool, ThreadPool)


def test_bad_pool_size():
    with pytest.raises(ValueError):
        ThreadPool(0)


def test_no_lost_wakeup_over_many_round_trips():
    # Each result comes back through run_threadsafe while the hub sleeps with nothing else to
    # do: a single lost wake-up would hang here (and pytest-timeout would fail the test).
    pool = ThreadPool(2)
    for i in range(3000):
        assert pool.spawn(int, i).get() == i
    results = [pool.spawn(int, i) for i in range(3000)]
    assert [r.get() for r in results] == list(range(3000))


def test_no_lost_wakeup_with_racing_threads():
    # Several threads call run_threadsafe while the hub keeps falling asleep and waking up; the
    # last call starts the greenlet main waits for. A lost wake-up would hang the test.
    h = get_hub()
    threads, calls = 4, 3000
    count = [0]
    done = hub.Greenlet(lambda: None)

    def bump():
        count[0] += 1
        if count[0] == threads * calls:
            done.start()

    def producer():
        for i in range(calls):
            h.run_threadsafe(bump)
            if i % 3 == 0:
                time.sleep(0)  # give the hub a chance to go idle in between

    workers = [threading.Thread(target=producer) for _ in range(threads)]
    for w in workers:
        w.start()
    done.join(timeout=30)
    for w in workers:
        w.join()
    assert count[0] == threads * calls and done.dead


def test_idle_workers_exit_and_come_back():
    import _thread

    pool = ThreadPool(3, idle_timeout=0.05)
    before = _thread._count()
    assert sorted(pool.spawn(lambda i=i: (time.sleep(0.01), i)[1]).get() for i in range(3)) == [
        0,
        1,
        2,
    ]
    deadline = time.monotonic() + 10
    while pool.size and time.monotonic() < deadline:
        hub.sleep(0.02)
    assert pool.size == 0
    while _thread._count() > before and time.monotonic() < deadline:
        hub.sleep(0.02)
    assert _thread._count() <= before  # other pools' idle workers may have left meanwhile
    assert pool.apply(lambda: "again") == "again"  # a new worker starts on demand


def _in_child(check) -> int:
    """Fork; run ``check()`` in the child, whose exit code is its return value."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = check()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_fails_jobs_in_flight_in_the_child():
    # The child has no worker threads: a job running (or queued) at the fork never finishes
    # there. Waiting on it must fail clearly, and leave nothing keeping the child's hub alive.
    pool = ThreadPool(1)
    release = threading.Event()
    running = pool.spawn(release.wait, 10)
    queued = pool.spawn(lambda: 42)

    def check() -> int:
        for result in (running, queued):
            with pytest.raises(RuntimeError, match="forked"):
                result.get(timeout=5)
        return 0 if get_hub().statistics().keepalive == 0 else 2

    try:
        assert _in_child(check) == 0
    finally:
        release.set()
    assert running.get(timeout=10) is True  # the parent's jobs are untouched
    assert queued.get(timeout=10) == 42


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_child_keeps_an_outcome_delivered_just_before():
    # The worker finished and queued the delivery, the hub had not run it yet: the child has
    # the real outcome, not the failure.
    pool = ThreadPool(1)
    h = get_hub()
    result = pool.spawn(lambda: 7)
    deadline = time.monotonic() + 10
    while result in pool._pending and time.monotonic() < deadline:
        _thread_sleep(0.001)  # blocks the thread, so the hub cannot take the delivery
    assert h.statistics().threadsafe_calls, "the delivery should be queued, not yet run"

    def check() -> int:
        return 0 if result.get(timeout=5) == 7 else 2

    assert _in_child(check) == 0
    assert result.get(timeout=5) == 7
