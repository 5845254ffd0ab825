"""Greenlet, spawn, sleep, joinall, killall, wait, iwait: behaviour and error paths."""

from __future__ import annotations

import gc

import pytest
from greenlet import greenlet

import hub
from hub import Greenlet, GreenletExit, Timeout


def test_spawn_runs_and_returns_value():
    g = hub.spawn(lambda a, b=0: a + b, 2, b=3)
    assert g.started and not g.ready()
    assert g.get() == 5
    assert g.ready() and g.successful() and g.dead
    assert g.value == 5 and g.exception is None


def test_spawn_order_is_fifo():
    out = []
    gs = [hub.spawn(out.append, i) for i in range(5)]
    hub.joinall(gs)
    assert out == [0, 1, 2, 3, 4]


def test_sleep_orders_by_deadline(clock):
    out = []

    def task(n, delay):
        hub.sleep(delay)
        out.append(n)

    hub.joinall([hub.spawn(task, 1, 3), hub.spawn(task, 2, 1), hub.spawn(task, 3, 2)])
    assert out == [2, 3, 1]
    assert clock() == pytest.approx(3)


def test_sleep_zero_interleaves():
    out = []

    def task(name):
        for i in range(3):
            out.append((name, i))
            hub.sleep(0)

    hub.joinall([hub.spawn(task, "a"), hub.spawn(task, "b")])
    assert out == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]


def test_sleep_in_main_greenlet(clock):
    hub.sleep(10)
    assert clock() == pytest.approx(10)


def test_sleep_negative_is_a_yield():
    out = []
    hub.spawn(out.append, 1)
    hub.sleep(-1)
    assert out == [1]


def test_get_reraises_with_traceback(capsys):
    def fail():
        raise ValueError("boom")

    g = hub.spawn(fail)
    with pytest.raises(ValueError, match="boom") as info:
        g.get()
    assert any(entry.name == "fail" for entry in info.traceback)
    assert not g.successful() and isinstance(g.exception, ValueError)
    err = capsys.readouterr().err
    # Printed exactly once, with the greenlet's name.
    assert err.count("ValueError: boom") == 1
    assert g.name in err and "failed with ValueError" in err


def test_failure_does_not_stop_the_hub(capsys):
    def fail():
        raise RuntimeError("one")

    bad = hub.spawn(fail)
    good = hub.spawn(lambda: "ok")
    assert good.get() == "ok"
    bad.join()
    assert isinstance(bad.exception, RuntimeError)
    assert "RuntimeError: one" in capsys.readouterr().err


def test_get_nonblocking_and_timeout(clock):
    g = hub.spawn(hub.sleep, 5)
    with pytest.raises(Timeout):
        g.get(block=False)
    with pytest.raises(Timeout):
        g.get(timeout=1)
    assert clock() == pytest.approx(1)
    assert g.get() is None


def test_join_timeout_returns_without_raising(clock):
    g = hub.spawn(hub.sleep, 5)
    assert g.join(timeout=2) is None
    assert not g.ready()
    assert clock() == pytest.approx(2)
    g.join()
    assert g.ready()


def test_join_leaves_no_link_after_timeout(clock):
    g = hub.spawn(hub.sleep, 5)
    g.join(timeout=1)
    assert g.statistics().joiners == 0 and g.statistics().links == 0
    g.kill()


def test_kill_before_start_never_runs(capsys):
    ran = []
    g = hub.spawn(ran.append, 1)
    g.kill()
    assert g.dead and g.ready() and g.successful()
    assert isinstance(g.value, GreenletExit)
    assert not g.started
    hub.sleep(0)
    hub.sleep(0)
    assert ran == []
    assert capsys.readouterr().err == ""


def test_kill_before_start_with_exception():
    g = hub.spawn(lambda: None)
    g.kill(ValueError("nope"))
    assert g.ready() and not g.successful()
    assert isinstance(g.exception, ValueError)
    with pytest.raises(ValueError):
        g.get()


def test_kill_blocked_greenlet_runs_finally(clock):
    cleaned = []

    def worker():
        try:
            hub.sleep(100)
        finally:
            cleaned.append(True)

    g = hub.spawn(worker)
    hub.sleep(1)
    g.kill()
    assert cleaned == [True]
    assert g.dead and g.successful() and isinstance(g.value, GreenletExit)
    assert clock() == pytest.approx(1)
    # The killed sleep left no live timer behind.
    assert hub.get_hub().statistics().timers == 0


def test_kill_with_custom_exception(capsys):
    def worker():
        hub.sleep(100)

    g = hub.spawn(worker)
    hub.sleep(0)
    g.kill(KeyError("k"))
    assert isinstance(g.exception, KeyError)
    assert "KeyError" in capsys.readouterr().err


def test_kill_nonblocking_then_join():
    g = hub.spawn(hub.sleep, 100)
    hub.sleep(0)
    g.kill(block=False)
    assert not g.dead
    g.join()
    assert g.dead


def test_kill_greenlet_that_ignores_it(clock):
    def stubborn():
        while True:
            try:
                hub.sleep(10)
            except GreenletExit:
                pass

    g = hub.spawn(stubborn)
    hub.sleep(0)
    g.kill(timeout=1)
    assert not g.dead
    g.kill(SystemError, block=False)  # not caught by the loop
    g.join()
    assert g.dead


def test_kill_dead_greenlet_is_a_noop():
    g = hub.spawn(lambda: 1)
    g.join()
    g.kill()
    assert g.value == 1


def test_killall(clock):
    gs = [hub.spawn(hub.sleep, 100) for _ in range(5)]
    hub.sleep(0)
    hub.killall(gs)
    assert all(g.dead for g in gs)
    assert clock() == 0


def test_killall_nonblocking():
    gs = [hub.spawn(hub.sleep, 100) for _ in range(3)]
    hub.sleep(0)
    hub.killall(gs, block=False)
    assert not any(g.dead for g in gs)
    hub.joinall(gs)
    assert all(g.dead for g in gs)


def test_joinall_timeout_returns_finished(clock):
    fast = hub.spawn(hub.sleep, 1)
    slow = hub.spawn(hub.sleep, 10)
    done = hub.joinall([fast, slow], timeout=5)
    assert done == [fast]
    assert clock() == pytest.approx(5)
    slow.kill()


def test_joinall_raise_error():
    def fail():
        hub.sleep(0)
        raise KeyError("x")

    sleeper = hub.spawn(hub.sleep, 0.01)
    with pytest.raises(KeyError):
        hub.joinall([sleeper, hub.spawn(fail)], raise_error=True)
    sleeper.join()


def test_joinall_count(clock):
    gs = [hub.spawn(hub.sleep, d) for d in (3, 1, 2)]
    done = hub.joinall(gs, count=2)
    assert done == [gs[1], gs[2]]
    assert not gs[0].dead
    gs[0].join()


def test_wait_and_iwait_order(clock):
    gs = [hub.spawn(hub.sleep, d) for d in (3, 1, 2)]
    assert list(hub.iwait(gs)) == [gs[1], gs[2], gs[0]]
    gs2 = [hub.spawn(hub.sleep, d) for d in (3, 1, 2)]
    assert hub.wait(gs2, timeout=2.5) == [gs2[1], gs2[2]]
    assert hub.wait(gs2) == [gs2[1], gs2[2], gs2[0]]  # every ready one, in order


def test_iwait_unlinks_when_abandoned():
    gs = [hub.spawn(hub.sleep, 0.01) for _ in range(3)]
    for _ in hub.iwait(gs):
        break
    assert all(g.statistics().links == 0 for g in gs)
    hub.joinall(gs)  # the others may still sleep (a loaded machine): the leak check counts them


def test_wait_without_objects_runs_everything(clock):
    out = []
    hub.spawn(lambda: (hub.sleep(2), out.append(1)))
    hub.spawn(lambda: (hub.sleep(1), out.append(2)))
    assert hub.wait() is True
    assert out == [2, 1]


def test_wait_without_objects_times_out(clock):
    g = hub.spawn(hub.sleep, 10)
    assert hub.wait(timeout=1) is False
    g.kill()


def test_spawn_later(clock):
    g = hub.spawn_later(2, lambda: 7)
    assert g.started
    assert g.get() == 7
    assert clock() == pytest.approx(2)


def test_spawn_later_killed_before_start(clock):
    ran = []
    g = hub.spawn_later(2, ran.append, 1)
    g.kill()
    hub.sleep(5)
    assert ran == [] and g.dead


def test_start_twice_runs_once():
    calls = []
    g = Greenlet(calls.append, 1)
    g.start()
    g.start()
    g.join()
    g.start()
    hub.sleep(0)
    assert calls == [1]


def test_greenlet_subclass_run():
    class Worker(Greenlet):
        def __init__(self, n):
            super().__init__()
            self.n = n

        def _run(self):
            return self.n * 2

    w = Worker(21)
    w.start()
    assert w.get() == 42


def test_greenlet_subclass_may_set_run_before_init():
    class Job(Greenlet):
        def __init__(self, fn):
            self._run = fn  # before the base __init__, as some gevent subclasses do
            super().__init__()

    job = Job(lambda: "done")
    job.start()
    assert job.get() == "done"


def test_links(clock):
    seen = []
    g = hub.spawn(lambda: 5)
    g.link(lambda src: seen.append(("link", src.value)))
    g.link_value(lambda src: seen.append(("value", src.value)))
    g.link_exception(lambda src: seen.append(("exception", src)))
    g.rawlink(lambda src: seen.append(("raw", src.value)))
    g.join()
    hub.sleep(0)
    hub.sleep(0)
    assert sorted(seen) == [("link", 5), ("raw", 5), ("value", 5)]


def test_link_exception_and_unlink(capsys):
    seen = []

    def fail():
        raise ValueError

    def on_error(src):
        seen.append(type(src.exception))

    def never(src):
        seen.append("never")

    g = hub.spawn(fail)
    g.link_exception(on_error)
    g.link(never)
    g.unlink(never)
    g.join()
    hub.sleep(0)
    hub.sleep(0)
    assert seen == [ValueError]


def test_link_after_death_still_fires():
    seen = []
    g = hub.spawn(lambda: 1)
    g.join()
    g.rawlink(lambda src: seen.append(src.value))
    hub.sleep(0)
    assert seen == [1]


def test_link_callback_error_is_reported(capsys):
    g = hub.spawn(lambda: 1)
    g.rawlink(lambda src: 1 / 0)
    g.join()
    hub.sleep(0)
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_blocking_in_a_rawlink_is_refused(capsys):
    g = hub.spawn(lambda: 1)
    g.rawlink(lambda src: hub.sleep(0))
    g.join()
    hub.sleep(0)
    assert "BlockingSwitchOutError" in capsys.readouterr().err


def test_repr_and_name():
    def work(x):
        return x

    g = Greenlet(work, 1)
    assert "work" in repr(g) and "not started" in repr(g)
    g.start()
    assert "scheduled" in repr(g)
    g.name = "fetcher"
    assert g.name == "fetcher" and '"fetcher"' in repr(g)
    g.join()
    assert "dead" in repr(g)


def test_bool_tracks_life():
    g = Greenlet(hub.sleep, 0)
    assert not g
    g.start()
    assert g
    g.join()
    assert not g


def test_getcurrent_is_the_greenlet():
    g = hub.spawn(hub.getcurrent)
    assert g.get() is g


def test_ten_thousand_greenlets(clock):
    results = []

    def task(i):
        hub.sleep(i % 7)
        results.append(i)

    gs = [hub.spawn(task, i) for i in range(10_000)]
    hub.joinall(gs)
    assert sorted(results) == list(range(10_000))
    assert clock() == pytest.approx(6)


def test_raw_greenlets_beside_the_hub():
    out = []

    def raw():
        out.append("raw 1")
        main.switch()
        out.append("raw 2")

    main = hub.getcurrent()
    g = greenlet(raw)
    worker = hub.spawn(out.append, "spawned")
    g.switch()
    hub.sleep(0)
    g.switch()
    worker.join()
    assert out == ["raw 1", "spawned", "raw 2"]


def test_raw_greenlet_may_use_the_hub(clock):
    out = []

    def raw():
        hub.sleep(1)
        out.append("raw slept")

    g = greenlet(raw)
    g.switch()  # runs until its sleep, then the hub comes back to us via... the raw's parent
    hub.sleep(2)
    assert out == ["raw slept"]


def test_idle_runs_after_everything_else():
    out = []

    def busy():
        for i in range(3):
            out.append(i)
            hub.sleep(0)

    hub.spawn(busy)
    hub.idle()
    assert out == [0, 1, 2]


def test_stale_wakeup_after_kill_is_dropped(clock):
    # The worker's join() is claimed (the awaited greenlet finished) *after* a kill was queued
    # but before it was delivered. The kill wins; the stale wake-up must not resume the worker
    # later, in the middle of its next wait.
    resumed = []
    awaited = Greenlet(lambda: None)

    def worker():
        try:
            awaited.join()
        except GreenletExit:
            resumed.append("killed")
        hub.sleep(5)
        resumed.append("slept")

    g = hub.spawn(worker)
    hub.sleep(0)  # the worker now waits in awaited.join()
    awaited.start()  # queued first: it will finish and claim the worker's wait...
    g.kill(block=False)  # ...while this kill, queued second, is delivered first
    g.join()
    assert resumed == ["killed", "slept"]
    assert clock() == pytest.approx(5)


def test_run_argument_reads_and_replaces_as_run_attribute():
    def first():
        return 1

    def second():
        return 2

    g = Greenlet(first)
    assert g._run is first
    g._run = second
    g.start()
    assert g.get() == 2


def test_greenlet_without_function_does_nothing():
    g = Greenlet()
    g.start()
    assert g.get() is None and g.successful()
    assert "dead" in repr(g)


def test_args_and_kwargs_before_and_after():
    g = Greenlet(lambda a, b=0: a + b, 2, b=3)
    assert g.args == (2,) and dict(g.kwargs) == {"b": 3}
    plain = Greenlet(lambda a: a, 4)
    assert plain.args == (4,) and dict(plain.kwargs) == {}
    g.start()
    plain.start()
    assert g.get() == 5 and plain.get() == 4
    assert g.args == () and dict(g.kwargs) == {} and dict(plain.kwargs) == {}


def test_spawned_greenlet_keeps_no_tracked_instance_dict():
    # The function and the result live in slots: the instance dict that greenlet allocates stays
    # empty, so the garbage collector has one object per greenlet to look at, not two.
    g = hub.spawn(lambda x: [x], 1)
    assert not gc.is_tracked(g.__dict__)
    assert g.get() == [1]
    assert not gc.is_tracked(g.__dict__)


def test_started_greenlet_is_its_own_ready_entry_until_it_runs_or_is_killed():
    g = Greenlet(lambda: None)
    assert g[0] is None  # not started
    g.start()
    assert g[0] is g
    g.kill()
    assert g[0] is None
    g2 = hub.spawn(lambda: None)
    assert g2[0] is g2
    g2.join()
    assert g2[0] is None


def test_greenlet_is_not_iterable_but_stays_generic():
    g = Greenlet(lambda: None)
    with pytest.raises(TypeError):
        iter(g)
    with pytest.raises(TypeError):
        list(g)
    assert Greenlet[int] is not None


def test_a_subclass_with_its_own_getitem_still_runs():
    # A started Greenlet is normally its own ready-queue entry, read as entry[0]: a subclass
    # whose __getitem__ means something else gets a plain entry instead.
    class Row(Greenlet):
        def __init__(self, n):
            super().__init__()
            self.cells = {}
            self.n = n

        def _run(self):
            return self.n

        def __getitem__(self, key):
            return self.cells[key]

    row = Row(5)
    row.start()
    assert row.get(timeout=5) == 5
    killed = Row(6)
    killed.start()
    killed.kill()
    hub.sleep(0)
    assert killed.dead and killed.get() is not None  # GreenletExit, never ran


def test_start_later_timer_does_not_resume_a_greenlet_started_another_way(clock):
    # Switched into before its start_later() timer fires, the greenlet sleeps; the timer must
    # not wake it early.
    woke = []

    def body():
        hub.sleep(0.2)
        woke.append(clock())

    g = Greenlet(body)
    g.start_later(0.05)
    switcher = hub.spawn(g.switch)
    hub.sleep(0.3)
    assert woke == [pytest.approx(0.2)]
    # g ended into its parent, the hub: the greenlet that switched into it is never resumed.
    switcher.kill()


# -- links run before the waits on the greenlet return (gevent's order) --------------------------


# Every way to wait for a greenlet: each must return only after its links ran.
_EVERY_WAIT = pytest.mark.parametrize(
    "wait",
    [
        lambda g: g.join(),
        lambda g: g.get(),
        lambda g: hub.joinall([g]),
        lambda g: hub.joinall([g], timeout=60),
        lambda g: hub.wait([g]),
        lambda g: list(hub.iwait([g])),
    ],
    ids=["join", "get", "joinall", "joinall-timeout", "wait", "iwait"],
)


def _linked(g: Greenlet, ran: list) -> None:
    g.link(lambda src: ran.append("link"))
    g.rawlink(lambda src: ran.append("rawlink"))


@_EVERY_WAIT
def test_links_have_run_when_a_wait_returns(wait):
    ran: list = []
    g = hub.spawn(hub.sleep, 0)
    _linked(g, ran)
    wait(g)
    assert sorted(ran) == ["link", "rawlink"]


def test_links_have_run_when_a_failed_greenlet_is_joined(capsys):
    ran: list = []
    g = hub.spawn(lambda: 1 / 0)
    _linked(g, ran)
    with pytest.raises(ZeroDivisionError):
        g.get()
    assert sorted(ran) == ["link", "rawlink"]


def test_links_have_run_when_a_killed_greenlet_is_joined():
    ran: list = []
    g = hub.spawn(hub.sleep, 60)
    hub.sleep(0)
    _linked(g, ran)
    g.kill()  # block=True: joins
    assert sorted(ran) == ["link", "rawlink"]


@_EVERY_WAIT
def test_links_have_run_when_a_wait_comes_after_the_finish(wait):
    # The wait begins after the greenlet finished, while its links are still queued in the hub
    # (another greenlet of the same batch): it must wait for them all the same.
    ran: list = []
    g = hub.spawn(lambda: None)
    _linked(g, ran)
    seen: list = []

    def waiter() -> None:
        assert g.dead
        wait(g)
        seen.append(sorted(ran))

    w = hub.spawn(waiter)  # ready right after g: runs before g's links
    w.join()
    assert seen == [["link", "rawlink"]]
    assert g.has_links() == 0 and g.statistics().links == 0


def test_unlink_all_after_the_finish_still_runs_the_queued_links():
    ran: list = []
    g = hub.spawn(lambda: None)
    _linked(g, ran)

    def waiter() -> None:
        g.unlink_all()
        g.join()
        ran.append("joined")

    hub.spawn(waiter).join()
    assert sorted(ran[:2]) == ["link", "rawlink"] and ran[2] == "joined"


def test_asyncresult_links_have_run_when_get_returns():
    ran: list = []
    result = hub.AsyncResult()
    result.rawlink(lambda src: ran.append("rawlink"))
    hub.spawn(result.set, 5)
    assert result.get() == 5
    assert ran == ["rawlink"]


# -- a started Greenlet is its own ready entry, and nothing more -----------------------------------


def test_a_started_greenlet_answers_index_0_only():
    g = hub.spawn(hub.sleep, 0)
    assert g[0] is g  # the hub's ready queue reads this
    for index in (1, -1, 7, "x", slice(0, 1), False, 0.0):
        with pytest.raises(TypeError, match="not subscriptable"):
            g[index]
    with pytest.raises(TypeError):
        iter(g)
    with pytest.raises(TypeError, match="not subscriptable"):
        greenlet()[0]  # as for any greenlet
    g.join()
    assert g[0] is None  # it ran: a stale entry


def test_a_killed_greenlet_is_a_stale_entry():
    g = hub.spawn(hub.sleep, 0)
    g.kill()
    assert g[0] is None
