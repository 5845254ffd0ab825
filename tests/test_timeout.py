"""Timeout and with_timeout."""

from __future__ import annotations

import pytest

import hub
from hub import Timeout


def test_timeout_raises_itself(clock):
    with pytest.raises(Timeout) as info, Timeout(2) as t:
        hub.sleep(10)
    assert info.value is t
    assert clock() == pytest.approx(2)
    assert not t.pending


def test_timeout_not_reached(clock):
    with Timeout(5) as t:
        hub.sleep(1)
    assert not t.pending
    hub.sleep(10)  # the cancelled timer must not fire later
    assert clock() == pytest.approx(11)


def test_silent_timeout(clock):
    reached = []
    with Timeout(1, False):
        hub.sleep(5)
        reached.append(True)
    assert reached == []
    assert clock() == pytest.approx(1)


def test_custom_exception_class_and_instance(clock):
    with pytest.raises(KeyError), Timeout(1, KeyError):
        hub.sleep(5)
    err = ValueError("late")
    with pytest.raises(ValueError) as info, Timeout(1, err):
        hub.sleep(5)
    assert info.value is err


def test_nested_timeouts_fire_for_their_own_block(clock):
    outer = Timeout(5)
    inner = Timeout(1)
    with pytest.raises(Timeout) as info, outer:
        with pytest.raises(Timeout) as inner_info, inner:
            hub.sleep(10)
        assert inner_info.value is inner
        assert clock() == pytest.approx(1)
        hub.sleep(10)
    assert info.value is outer
    assert clock() == pytest.approx(5)


def test_nested_silent_inner_does_not_swallow_outer(clock):
    with pytest.raises(Timeout) as info, Timeout(1) as outer, Timeout(5, False):
        hub.sleep(10)
    assert info.value is outer


def test_inner_longer_than_outer(clock):
    with pytest.raises(Timeout) as info, Timeout(1) as outer, Timeout(5):
        hub.sleep(10)
    assert info.value is outer
    assert clock() == pytest.approx(1)


def test_cancelled_timeout_never_fires(clock):
    t = Timeout(1)
    t.start()
    assert t.pending
    t.cancel()
    assert not t.pending
    hub.sleep(3)
    t.cancel()  # twice is fine


def test_start_twice_is_an_error():
    t = Timeout(10)
    t.start()
    with pytest.raises(AssertionError):
        t.start()
    t.cancel()


def test_restart_after_cancel(clock):
    t = Timeout(1)
    t.start()
    t.cancel()
    t.start()
    with pytest.raises(Timeout):
        hub.sleep(2)


def test_none_never_fires(clock):
    with Timeout(None) as t:
        hub.sleep(100)
    assert not t.pending


def test_start_new(clock):
    t = Timeout.start_new(1)
    assert t.pending
    with pytest.raises(Timeout):
        hub.sleep(2)
    same = Timeout(1)
    assert Timeout.start_new(same) is same
    same.cancel()


def test_timeout_in_a_spawned_greenlet_only_hits_it(clock):
    def guarded():
        with Timeout(1):
            hub.sleep(5)

    g = hub.spawn(guarded)
    other = hub.spawn(hub.sleep, 2)
    g.join()
    assert isinstance(g.exception, Timeout)
    other.join()
    assert other.successful()


def test_timeout_interrupts_join_and_cleans_up(clock):
    worker = hub.spawn(hub.sleep, 10)
    with pytest.raises(Timeout), Timeout(1):
        worker.join()
    assert worker.statistics().joiners == 0 and worker.statistics().links == 0
    worker.kill()


def test_timeout_fires_during_sleep_zero_loop(clock):
    with pytest.raises(Timeout), Timeout(0.001):
        while True:
            hub.sleep(0)
            clock.jump(0.0005)


def test_str_and_repr():
    assert str(Timeout(1)) == "1 second"
    assert str(Timeout(2.5)) == "2.5 seconds"
    assert str(Timeout(2, False)) == "2 seconds (silent)"
    assert "KeyError" in str(Timeout(2, KeyError("k"))) or "'k'" in str(Timeout(2, KeyError("k")))
    assert "seconds=3" in repr(Timeout(3))


def test_with_timeout(clock):
    assert hub.with_timeout(1, lambda: 5) == 5
    with pytest.raises(Timeout):
        hub.with_timeout(1, hub.sleep, 5)
    assert hub.with_timeout(1, hub.sleep, 5, timeout_value="late") == "late"
    assert clock() == pytest.approx(2)


def test_with_timeout_does_not_swallow_other_timeouts(clock):
    def inner():
        with Timeout(0.5):
            hub.sleep(5)

    with pytest.raises(Timeout):
        hub.with_timeout(1, inner, timeout_value=None)


def test_timeout_is_base_exception():
    assert issubclass(Timeout, BaseException)
    assert not issubclass(Timeout, Exception)
