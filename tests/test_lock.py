"""Semaphore, BoundedSemaphore, Lock, RLock, Condition: behaviour, FIFO order, error paths."""

from __future__ import annotations

import pytest

import hub
from hub import BoundedSemaphore, Condition, Lock, RLock, Semaphore, Timeout


def test_semaphore_counts():
    s = Semaphore(2)
    assert s.counter == 2 and not s.locked()
    assert s.acquire() and s.acquire()
    assert s.locked()
    assert s.acquire(blocking=False) is False
    s.release()
    assert s.counter == 1
    s.release()
    s.release()  # a plain Semaphore is unbounded
    assert s.counter == 3


def test_semaphore_bad_arguments():
    with pytest.raises(ValueError):
        Semaphore(-1)
    with pytest.raises(ValueError):
        Semaphore().acquire(False, 1)


def test_semaphore_fifo_wakeup_and_no_barging():
    s = Semaphore(0)
    out = []

    def worker(i):
        s.acquire()
        out.append(i)

    gs = [hub.spawn(worker, i) for i in range(5)]
    hub.sleep(0)
    for _ in range(5):
        s.release()
        # A greenlet calling acquire() now must queue behind the woken waiter.
        assert s.acquire(blocking=False) is False
    hub.joinall(gs)
    assert out == [0, 1, 2, 3, 4]
    assert s.counter == 0


def test_semaphore_context_manager_limits_concurrency():
    s = Semaphore(2)
    running = [0]
    peak = [0]

    def worker():
        with s:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            hub.sleep(0)
            running[0] -= 1

    hub.joinall([hub.spawn(worker) for _ in range(10)])
    assert peak[0] == 2 and s.counter == 2


def test_semaphore_timeout(clock):
    s = Semaphore(0)
    assert s.acquire(timeout=2) is False
    assert clock() == pytest.approx(2)
    assert s.acquire(timeout=0) is False
    assert s.acquire(timeout=-1) is False
    assert s.statistics().waiting == 0


def test_semaphore_timeout_then_release_goes_to_next(clock):
    s = Semaphore(0)
    out = []
    a = hub.spawn(lambda: out.append(("a", s.acquire(timeout=1))))
    b = hub.spawn(lambda: out.append(("b", s.acquire(timeout=5))))
    hub.spawn_later(2, s.release)
    hub.joinall([a, b])
    assert out == [("a", False), ("b", True)]
    assert s.counter == 0 and s.statistics().waiting == 0


def test_semaphore_killed_waiter_leaves_it_consistent():
    s = Semaphore(0)
    got = []
    a = hub.spawn(lambda: got.append(("a", s.acquire())))
    b = hub.spawn(lambda: got.append(("b", s.acquire())))
    hub.sleep(0)
    a.kill()
    assert s.statistics().waiting == 1
    s.release()
    b.join()
    assert got == [("b", True)] and s.counter == 0


def test_semaphore_permit_not_lost_when_woken_waiter_is_killed():
    s = Semaphore(0)
    got = []
    a = hub.spawn(lambda: got.append(("a", s.acquire())))
    b = hub.spawn(lambda: got.append(("b", s.acquire())))
    hub.sleep(0)
    a.kill(block=False)  # the kill is queued first...
    s.release()  # ...then a gets the permit, unwinds with it, and passes it on to b
    hub.joinall([a, b])
    assert got == [("b", True)]
    assert s.counter == 0 and s.statistics().waiting == 0


def test_semaphore_permit_returned_when_nobody_else_waits():
    s = Semaphore(0)
    a = hub.spawn(s.acquire)
    hub.sleep(0)
    a.kill(block=False)
    s.release()
    a.join()
    assert s.counter == 1


def test_semaphore_under_timeout(clock):
    s = Semaphore(0)
    with pytest.raises(Timeout), Timeout(1):
        s.acquire()
    assert s.statistics().waiting == 0


def test_semaphore_wait_does_not_take(clock):
    s = Semaphore(0)
    hub.spawn_later(1, s.release)
    assert s.wait() == 1
    assert s.counter == 1
    s2 = Semaphore(0)
    assert s2.wait(timeout=1) == 0


def test_bounded_semaphore_over_release():
    s = BoundedSemaphore(2)
    with pytest.raises(ValueError, match="too many"):
        s.release()
    s.acquire()
    s.release()
    with pytest.raises(ValueError):
        s.release()
    assert s.counter == 2


def test_bounded_semaphore_release_to_waiter_is_fine():
    s = BoundedSemaphore(1)
    s.acquire()
    g = hub.spawn(s.acquire)
    hub.sleep(0)
    s.release()  # handed to g, not counted
    assert g.get() is True
    s.release()
    with pytest.raises(ValueError):
        s.release()


def test_lock_basics():
    lock = Lock()
    assert not lock.locked()
    with lock:
        assert lock.locked()
        assert lock.acquire(False) is False
    assert not lock.locked()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()


def test_lock_argument_checks():
    lock = Lock()
    with pytest.raises(ValueError):
        lock.acquire(False, 1)
    with pytest.raises(ValueError):
        lock.acquire(True, -2)
    assert lock.acquire(True, -1)
    assert lock.acquire(False) is False


def test_lock_released_by_other_greenlet():
    lock = Lock()
    lock.acquire()
    hub.spawn(lock.release).join()
    assert not lock.locked()


def test_lock_timeout(clock):
    lock = Lock()
    lock.acquire()
    assert lock.acquire(timeout=3) is False
    assert clock() == pytest.approx(3)


def test_lock_fifo():
    lock = Lock()
    out = []

    def worker(i):
        with lock:
            out.append(i)
            hub.sleep(0)

    hub.joinall([hub.spawn(worker, i) for i in range(5)])
    assert out == [0, 1, 2, 3, 4]


def test_rlock_reentrant_and_owner_checks():
    r = RLock()
    with r:
        with r:
            assert r.locked() and r._is_owned()
            g = hub.spawn(r.release)
            with pytest.raises(RuntimeError, match="un-acquired"):
                g.get()
            assert hub.spawn(lambda: r.acquire(False)).get() is False
        assert r.locked()
    assert not r.locked()
    with pytest.raises(RuntimeError):
        r.release()


def test_rlock_blocks_other_greenlets(clock):
    r = RLock()
    out = []

    def other():
        out.append(r.acquire(timeout=1))

    r.acquire()
    hub.spawn(other).join()
    assert out == [False]
    r.release()
    hub.spawn(other).join()
    assert out == [False, True]
    assert "RLock" in repr(r)


def test_condition_notify_fifo():
    cond = Condition()
    out = []

    def waiter(i):
        with cond:
            assert cond.wait() is True
            out.append(i)

    gs = [hub.spawn(waiter, i) for i in range(4)]
    hub.sleep(0)
    with cond:
        cond.notify()
    hub.sleep(0)
    assert out == [0]
    with cond:
        cond.notify(2)
    hub.sleep(0)
    assert out == [0, 1, 2]
    with cond:
        cond.notify_all()
    hub.joinall(gs)
    assert out == [0, 1, 2, 3]


def test_condition_requires_lock():
    cond = Condition(Lock())
    with pytest.raises(RuntimeError, match="un-acquired"):
        cond.wait()
    with pytest.raises(RuntimeError, match="un-acquired"):
        cond.notify()
    with cond:
        cond.notify()  # no waiter: fine


def test_condition_wait_timeout_and_wait_for(clock):
    cond = Condition()
    with cond:
        assert cond.wait(2) is False
    assert clock() == pytest.approx(2)
    state = {"n": 0}

    def bump():
        for _ in range(3):
            hub.sleep(1)
            with cond:
                state["n"] += 1
                cond.notify_all()

    hub.spawn(bump)
    with cond:
        assert cond.wait_for(lambda: state["n"] >= 3) is True
    with cond:
        assert cond.wait_for(lambda: state["n"] >= 10, timeout=5) is False
    assert cond.statistics().waiting == 0


def test_condition_notification_passed_on_when_waiter_killed():
    cond = Condition()
    out = []

    def waiter(i):
        with cond:
            cond.wait()
            out.append(i)

    a = hub.spawn(waiter, "a")
    b = hub.spawn(waiter, "b")
    hub.sleep(0)
    a.kill(block=False)  # the kill is queued first...
    with cond:
        cond.notify(1)  # ...then a is notified, unwinds, and passes it on to b
    hub.joinall([a, b])
    assert out == ["b"]


def test_condition_with_timeout_leaves_no_waiter(clock):
    cond = Condition()
    with pytest.raises(Timeout), Timeout(1), cond:
        cond.wait()
    assert cond.statistics().waiting == 0
    assert not cond._lock.locked()
    assert "Condition" in repr(cond)
