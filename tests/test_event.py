"""Event and AsyncResult: behaviour, timeouts, kills, links, many waiters."""

from __future__ import annotations

import pytest

import hub
from hub import AsyncResult, Event, Timeout


def test_event_set_wakes_every_waiter_in_fifo_order():
    ev = Event()
    out = []

    def waiter(i):
        out.append((i, ev.wait()))

    gs = [hub.spawn(waiter, i) for i in range(5)]
    hub.sleep(0)
    assert not ev.is_set() and out == []
    ev.set()
    hub.joinall(gs)
    assert out == [(i, True) for i in range(5)]
    assert ev.is_set() and ev.isSet() and ev.ready()


def test_event_wait_when_set_returns_at_once():
    ev = Event()
    ev.set()
    assert ev.wait() is True
    assert ev.wait(0) is True


def test_event_clear_blocks_again(clock):
    ev = Event()
    ev.set()
    ev.clear()
    assert not ev.is_set()
    assert ev.wait(1) is False
    assert clock() == pytest.approx(1)


def test_event_wait_timeout_returns_false(clock):
    ev = Event()
    assert ev.wait(2.5) is False
    assert clock() == pytest.approx(2.5)
    assert ev.statistics().waiting == 0


def test_event_wait_timeout_then_set_later(clock):
    ev = Event()
    hub.spawn_later(3, ev.set)
    assert ev.wait(1) is False
    assert ev.wait(10) is True
    assert clock() == pytest.approx(3)


def test_event_ten_thousand_waiters():
    ev = Event()
    woken = []
    gs = [hub.spawn(lambda: woken.append(ev.wait())) for _ in range(10_000)]
    hub.sleep(0)
    assert ev.statistics().waiting == 10_000
    ev.set()
    hub.joinall(gs)
    assert len(woken) == 10_000 and all(woken)
    assert ev.statistics().waiting == 0


def test_event_ten_thousand_waiters_time_out(clock):
    ev = Event()
    results = []
    gs = [hub.spawn(lambda: results.append(ev.wait(1))) for _ in range(10_000)]
    hub.joinall(gs)
    assert results == [False] * 10_000
    assert ev.statistics().waiting == 0


def test_event_killed_waiter_leaves_no_trace():
    ev = Event()
    out = []
    a = hub.spawn(lambda: out.append(("a", ev.wait())))
    b = hub.spawn(lambda: out.append(("b", ev.wait())))
    hub.sleep(0)
    assert ev.statistics().waiting == 2
    a.kill()
    assert ev.statistics().waiting == 1
    ev.set()
    b.join()
    assert out == [("b", True)]


def test_event_killed_after_set_before_it_ran():
    ev = Event()
    out = []
    a = hub.spawn(lambda: out.append(ev.wait()))
    hub.sleep(0)
    a.kill(block=False)  # the kill is queued first...
    ev.set()  # ...then a is claimed: it unwinds with the claim
    a.join()
    assert out == [] and ev.statistics().waiting == 0


def test_event_wait_under_timeout(clock):
    ev = Event()
    with pytest.raises(Timeout), Timeout(2):
        ev.wait()
    assert ev.statistics().waiting == 0


def test_event_wait_in_hub_refused():
    ev = Event()
    errors = []

    def callback():
        try:
            ev.wait()
        except hub.BlockingSwitchOutError as e:
            errors.append(e)

    hub.get_hub().run_callback(callback)
    hub.sleep(0)
    assert len(errors) == 1 and ev.statistics().waiting == 0


def test_event_rawlink_runs_once_in_hub():
    ev = Event()
    seen = []
    ev.rawlink(lambda e: seen.append((e, hub.getcurrent() is hub.get_hub())))
    ev.set()
    hub.sleep(0)
    assert seen == [(ev, True)]
    ev.clear()
    ev.set()
    hub.sleep(0)
    assert len(seen) == 1  # one-shot


def test_event_rawlink_when_set_runs_soon_and_unlink():
    ev = Event()
    ev.set()
    seen = []
    ev.rawlink(seen.append)
    assert seen == []
    hub.sleep(0)
    assert seen == [ev]
    ev2 = Event()
    ev2.rawlink(seen.append)
    ev2.unlink(seen.append)
    ev2.set()
    hub.sleep(0)
    assert seen == [ev]
    with pytest.raises(TypeError):
        ev.rawlink(42)


def test_event_link_error_is_reported(capsys):
    ev = Event()

    def bad(_):
        raise ValueError("link failed")

    ev.rawlink(bad)
    ev.set()
    hub.sleep(0)
    assert "link failed" in capsys.readouterr().err


def test_wait_and_iwait_on_events(clock):
    a, b = Event(), Event()
    hub.spawn_later(2, b.set)
    hub.spawn_later(1, a.set)
    assert list(hub.iwait([a, b])) == [a, b]
    c = Event()
    assert hub.wait([c], timeout=1) == []


def test_event_repr():
    ev = Event()
    assert "clear" in repr(ev)
    ev.set()
    assert "set" in repr(ev)


# -- AsyncResult -------------------------------------------------------------------------------


def test_asyncresult_set_and_get():
    r = AsyncResult()
    assert not r.ready() and r.value is None and r.exception is None and r.exc_info == ()
    hub.spawn(r.set, 42)
    assert r.get() == 42
    assert r.ready() and r.successful() and r.value == 42
    assert r.get_nowait() == 42 and r.wait() == 42


def test_asyncresult_set_exception():
    r = AsyncResult()
    err = KeyError("k")
    hub.spawn(r.set_exception, err)
    with pytest.raises(KeyError):
        r.get()
    assert r.ready() and not r.successful()
    assert r.exception is err and r.exc_info[1] is err
    assert r.wait() is None  # wait never raises


def test_asyncresult_set_exception_class_and_exc_info():
    r = AsyncResult()
    r.set_exception(ValueError)
    assert isinstance(r.exception, ValueError)
    try:
        raise RuntimeError("x")
    except RuntimeError as e:
        import sys

        r2 = AsyncResult()
        r2.set_exception(e, sys.exc_info())
    assert r2.exception.__traceback__ is not None


def test_asyncresult_get_timeout(clock):
    r = AsyncResult()
    with pytest.raises(Timeout):
        r.get(timeout=1.5)
    assert clock() == pytest.approx(1.5)
    with pytest.raises(Timeout):
        r.get(block=False)
    with pytest.raises(Timeout):
        r.get_nowait()
    assert r.wait(1) is None
    assert r.statistics().waiting == 0


def test_asyncresult_many_getters():
    r = AsyncResult()
    out = []
    gs = [hub.spawn(lambda: out.append(r.get())) for _ in range(100)]
    hub.sleep(0)
    r.set("v")
    hub.joinall(gs)
    assert out == ["v"] * 100


def test_asyncresult_as_link():
    r = AsyncResult()
    g = hub.spawn(lambda: "done")
    g.link(r)
    assert r.get() == "done"

    def fail():
        raise OSError("bad")

    r2 = AsyncResult()
    g2 = hub.Greenlet(fail)
    g2.link(r2)
    g2.start()
    with pytest.raises(OSError):
        r2.get()


def test_asyncresult_killed_getter(clock):
    r = AsyncResult()
    g = hub.spawn(r.get)
    hub.sleep(0)
    g.kill()
    assert r.statistics().waiting == 0
    r.set(1)
    assert r.get() == 1


def test_asyncresult_iwait_and_repr():
    r = AsyncResult()
    assert "unset" in repr(r)
    hub.spawn(r.set, 5)
    assert hub.wait([r]) == [r]
    assert "value=5" in repr(r)
    r.set_exception(ValueError("e"))
    assert "exception=" in repr(r)
