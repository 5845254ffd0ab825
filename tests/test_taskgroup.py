"""TaskGroup: waiting for children, child failure, body failure, timeouts, nesting."""

from __future__ import annotations

import sys

import pytest

import hub
from hub import TaskGroup, Timeout

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup


def test_block_waits_for_every_child(clock):
    done = []

    def child(n):
        hub.sleep(n)
        done.append(n)

    with TaskGroup() as tg:
        g = tg.spawn(child, 2)
        tg.spawn(child, 1)
        assert len(tg.children) == 2
    assert done == [1, 2] and g.dead and g.successful()
    assert clock() == pytest.approx(2)


def test_children_may_spawn_more_children(clock):
    done = []

    def parent(tg):
        hub.sleep(1)
        tg.spawn(lambda: done.append("grandchild"))

    with TaskGroup() as tg:
        tg.spawn(parent, tg)
    assert done == ["grandchild"]


def test_child_failure_kills_others_and_raises_group(clock, capsys):
    killed = []

    def sleeper():
        try:
            hub.sleep(100)
        except hub.GreenletExit:
            killed.append(True)
            raise

    def fail():
        hub.sleep(1)
        raise ValueError("child failed")

    with pytest.raises(ExceptionGroup) as info, TaskGroup() as tg:
        tg.spawn(sleeper)
        tg.spawn(fail)
    assert [type(e) for e in info.value.exceptions] == [ValueError]
    assert killed == [True]
    assert clock() == pytest.approx(1)
    # Not printed as an unhandled greenlet error: it was raised instead.
    assert "child failed" not in capsys.readouterr().err


def test_every_failure_is_collected(clock):
    def fail(n):
        hub.sleep(1)
        raise KeyError(n)

    with pytest.raises(ExceptionGroup) as info, TaskGroup() as tg:
        for n in range(3):
            tg.spawn(fail, n)
    assert sorted(e.args[0] for e in info.value.exceptions) == [0, 1, 2]


def test_child_failure_interrupts_blocked_body(clock):
    reached = []

    def fail():
        hub.sleep(1)
        raise RuntimeError("boom")

    with pytest.raises(ExceptionGroup), TaskGroup() as tg:
        tg.spawn(fail)
        hub.sleep(100)  # interrupted at t=1
        reached.append("after sleep")
    assert reached == []
    assert clock() == pytest.approx(1)


def test_spawn_after_failure_or_outside_is_refused(clock):
    tg = TaskGroup()
    with pytest.raises(RuntimeError, match="not been entered"):
        tg.spawn(hub.sleep, 0)

    def fail():
        raise RuntimeError("x")

    with pytest.raises(ExceptionGroup), tg:
        tg.spawn(fail)
        try:
            hub.sleep(10)
        except BaseException:
            with pytest.raises(RuntimeError, match="shutting down"):
                tg.spawn(hub.sleep, 0)
            raise
    with pytest.raises(RuntimeError, match="finished"):
        tg.spawn(hub.sleep, 0)
    with pytest.raises(RuntimeError, match="already been entered"), tg:
        pass


def test_body_failure_kills_children_and_propagates(clock):
    killed = []

    def child():
        try:
            hub.sleep(100)
        except hub.GreenletExit:
            killed.append(True)
            raise

    with pytest.raises(ZeroDivisionError), TaskGroup() as tg:
        tg.spawn(child)
        hub.sleep(1)
        1 / 0  # noqa: B018
    assert killed == [True]
    assert clock() == pytest.approx(1)


def test_body_failure_with_child_failure_are_grouped(clock):
    def fail():
        raise KeyError("child")

    def body_error():
        raise ValueError("body")

    with pytest.raises(ExceptionGroup) as info, TaskGroup() as tg:
        tg.spawn(fail)
        try:
            hub.sleep(10)
        except BaseException:
            body_error()
    assert [type(e) for e in info.value.exceptions] == [ValueError, KeyError]


def test_timeout_around_block_kills_children(clock):
    killed = []

    def child():
        try:
            hub.sleep(100)
        except hub.GreenletExit:
            killed.append(True)
            raise

    with pytest.raises(Timeout), Timeout(2), TaskGroup() as tg:
        tg.spawn(child)
        tg.spawn(child)
    assert killed == [True, True]
    assert clock() == pytest.approx(2)


def test_timeout_in_body_kills_children(clock):
    killed = []

    def child():
        try:
            hub.sleep(100)
        except hub.GreenletExit:
            killed.append(True)
            raise

    t = Timeout(1)
    with pytest.raises(Timeout) as info, t, TaskGroup() as tg:
        tg.spawn(child)
        hub.sleep(50)
    assert info.value is t and killed == [True]


def test_silent_timeout_ends_block(clock):
    with Timeout(1, False), TaskGroup() as tg:
        tg.spawn(hub.sleep, 100)
    assert clock() == pytest.approx(1)


def test_nested_groups(clock):
    def fail():
        hub.sleep(1)
        raise ValueError("inner child")

    inner_killed = []

    def inner_child():
        try:
            hub.sleep(100)
        except hub.GreenletExit:
            inner_killed.append(True)
            raise

    with pytest.raises(ExceptionGroup) as info, TaskGroup() as outer:
        outer.spawn(fail)
        with TaskGroup() as inner:
            inner.spawn(inner_child)
    assert [type(e) for e in info.value.exceptions] == [ValueError]
    assert inner_killed == [True]


def test_base_exception_child_gives_base_exception_group(clock):
    class Custom(BaseException):
        pass

    def fail():
        raise Custom()

    with pytest.raises(BaseExceptionGroup) as info, TaskGroup() as tg:
        tg.spawn(fail)
    assert not isinstance(info.value, ExceptionGroup)


def test_abort_not_delivered_after_block(clock):
    # The child fails while the body is queued to resume normally: the pending interruption
    # must not escape the block and hit the code after it.
    ev = hub.Event()

    def fail():
        ev.set()
        raise ValueError("x")

    with pytest.raises(ExceptionGroup), TaskGroup() as tg:
        tg.spawn(fail)
        ev.wait()
    hub.sleep(1)  # nothing pending is thrown here
    assert "TaskGroup" in repr(tg)
