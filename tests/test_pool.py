"""Pool and Group: spawn, bounds, join, kill, apply, map, imap, imap_unordered."""

from __future__ import annotations

import pytest

import hub
from hub import Group, Pool
from hub.pool import PoolFull


def test_group_tracks_until_finished():
    group = Group()
    g = group.spawn(hub.sleep, 0)
    assert g in group and len(group) == 1 and list(group) == [g]
    assert group.join() is True
    assert len(group) == 0 and g.dead
    assert group.free_count() > 1_000_000 and not group.full()
    assert group.wait_available() == group.free_count()
    assert "Group" in repr(group)


def test_group_add_existing_and_discard():
    g1 = hub.Greenlet(hub.sleep, 0)
    group = Group([g1])
    group.start(g1)
    g2 = hub.spawn(hub.sleep, 10)
    group.add(g2)
    group.discard(g2)
    assert g2 not in group
    assert group.join() is True
    g2.kill()
    with pytest.raises(TypeError):
        Group([], [])


def test_group_join_timeout(clock):
    group = Group()
    group.spawn(hub.sleep, 5)
    assert group.join(timeout=1) is False
    assert group.join() is True
    assert clock() == pytest.approx(5)


def test_group_join_raise_error(clock):
    group = Group()

    def fail():
        hub.sleep(1)
        raise KeyError("k")

    group.spawn(hub.sleep, 3)
    group.spawn(fail)
    with pytest.raises(KeyError):
        group.join(raise_error=True)
    assert clock() == pytest.approx(1)
    assert group.join(raise_error=True, timeout=10) is True


def test_group_kill(clock):
    group = Group()
    gs = [group.spawn(hub.sleep, 100) for _ in range(5)]
    hub.sleep(0)
    group.kill()
    assert all(g.dead for g in gs) and len(group) == 0
    assert clock() == 0


def test_group_kill_from_member():
    group = Group()
    others = [group.spawn(hub.sleep, 100) for _ in range(3)]

    def killer():
        group.kill()
        return "alive"

    k = group.spawn(killer)
    assert k.get() == "alive"
    assert all(g.dead for g in others)


def test_group_killone_and_kill_timeout(clock):
    group = Group()

    def stubborn():
        while True:
            try:
                hub.sleep(100)
            except hub.GreenletExit:
                pass

    g = group.spawn(stubborn)
    hub.sleep(0)
    group.kill(timeout=1)
    assert not g.dead
    group.killone(g, exception=SystemError, block=True)
    assert g.dead and isinstance(g.exception, SystemError)


def test_pool_bounds_concurrency():
    pool = Pool(3)
    running = [0]
    peak = [0]

    def job():
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        hub.sleep(0)
        hub.sleep(0)
        running[0] -= 1

    for _ in range(10):
        pool.spawn(job)  # waits while full
    pool.join()
    assert peak[0] == 3 and pool.free_count() == 3


def test_pool_free_count_full_wait_available(clock):
    pool = Pool(2)
    assert pool.free_count() == 2 and not pool.full()
    pool.spawn(hub.sleep, 1)
    pool.spawn(hub.sleep, 2)
    assert pool.full() and pool.free_count() == 0
    assert pool.wait_available(timeout=0.5) == 0
    assert pool.wait_available() == 1
    assert clock() == pytest.approx(1)
    assert "size=2" in repr(pool)
    pool.join()


def test_pool_add_not_blocking_raises_poolfull():
    pool = Pool(1)
    pool.spawn(hub.sleep, 1)
    with pytest.raises(PoolFull):
        pool.add(hub.Greenlet(hub.sleep, 0), blocking=False)
    pool.kill()


def test_pool_size_checks():
    with pytest.raises(ValueError):
        Pool(0)
    unbounded = Pool()
    assert unbounded.free_count() > 1_000_000 and not unbounded.full()
    assert unbounded.wait_available() > 0


def test_pool_kill_frees_slots():
    pool = Pool(2)
    pool.spawn(hub.sleep, 100)
    pool.spawn(hub.sleep, 100)
    pool.kill()
    assert pool.free_count() == 2


def test_apply_and_apply_async():
    pool = Pool(2)
    assert pool.apply(lambda a, b=1: a + b, (1,), {"b": 2}) == 3
    with pytest.raises(ZeroDivisionError):
        pool.apply(lambda: 1 / 0)
    got = hub.AsyncResult()
    g = pool.apply_async(lambda x: x * 2, (21,), callback=got.set)
    assert g.get() == 42
    assert got.get() == 42
    seen = []
    assert pool.apply_cb(len, ("abc",), callback=seen.append) == 3
    assert seen == [3]


def test_apply_from_member_of_full_pool_does_not_deadlock():
    pool = Pool(1)

    def outer():
        inner = pool.apply(lambda: "inner")  # runs directly
        g = pool.apply_async(lambda: "async")  # starts outside the full pool
        return inner, g.get()

    assert pool.spawn(outer).get() == ("inner", "async")


def test_map_is_ordered(clock):
    pool = Pool(4)

    def slow_square(x):
        hub.sleep(10 - x)
        return x * x

    assert pool.map(slow_square, range(10)) == [x * x for x in range(10)]
    assert Group().map(str, [1, 2]) == ["1", "2"]
    g = pool.map_async(lambda x: -x, [1, 2, 3])
    assert g.get() == [-1, -2, -3]


def test_map_async_callback():
    got = hub.AsyncResult()
    Pool(2).map_async(abs, [-1, -2], callback=got.set)
    assert got.get() == [1, 2]


def test_map_raises_first_failure():
    pool = Pool(2)

    def f(x):
        if x == 3:
            raise ValueError(x)
        return x

    with pytest.raises(ValueError):
        pool.map(f, range(6))
    pool.join()
    assert pool.free_count() == 2


def test_imap_streams_in_order(clock):
    pool = Pool(2)
    started = []

    def job(x):
        started.append(x)
        hub.sleep(1)
        return x

    it = pool.imap(job, range(6))
    assert next(it) == 0
    # Streaming: the first result came out before every input was started.
    assert len(started) < 6
    assert list(it) == [1, 2, 3, 4, 5]
    with pytest.raises(StopIteration):
        next(it)


def test_imap_multiple_iterables_and_error_position():
    def div(a, b):
        return a // b

    it = Group().imap(div, [6, 8, 9, 10], [3, 2, 0, 5])
    assert next(it) == 2
    assert next(it) == 4
    with pytest.raises(ZeroDivisionError):
        next(it)
    assert next(it) == 2  # later results are still available
    with pytest.raises(TypeError):
        Group().imap(div)


def test_imap_unordered_yields_as_ready(clock):
    def job(x):
        hub.sleep(x)
        return x

    assert list(Pool(5).imap_unordered(job, [3, 1, 2])) == [1, 2, 3]


def test_imap_maxsize_bounds_pending_results(clock):
    started = []

    def job(x):
        started.append(x)
        return x

    it = Group().imap(job, range(100), maxsize=3)
    hub.sleep(0)
    hub.sleep(0)
    assert len(started) <= 3
    assert list(it) == list(range(100))
    with pytest.raises(ValueError):
        Group().imap(job, [], maxsize=0)


def test_imap_input_error_raised_after_results():
    def gen():
        yield 1
        yield 2
        raise OSError("input broke")

    it = Group().imap(lambda x: x, gen())
    assert next(it) == 1 and next(it) == 2
    with pytest.raises(OSError, match="input broke"):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_imap_close_kills_outstanding(clock):
    pool = Pool(3)
    with pool.imap(hub.sleep, [1, 100, 100, 100, 100]) as it:
        assert next(it) is None
    pool.join()
    assert clock() < 100 and pool.free_count() == 3
    with pytest.raises(StopIteration):
        next(it)


def test_pool_killed_while_imap_consumed():
    pool = Pool(2)

    def forever(x):
        hub.sleep(1000)

    it = pool.imap(forever, range(4))
    hub.spawn_later(0.01, pool.kill)
    with pytest.raises(hub.GreenletExit):
        next(it)
    it.close()
