"""The hub core: callbacks, timers, fd waits, cross-thread wake-up, LoopExit, errors."""

from __future__ import annotations

import errno
import gc
import os
import socket
import threading
import time

import pytest

import hub
from hub import LoopExit
from hub._core import TIMEOUT, get_hub, new_waiter, wake


def test_one_hub_per_thread():
    h = get_hub()
    assert get_hub() is h
    other = []
    t = threading.Thread(target=lambda: other.append(get_hub()))
    t.start()
    t.join()
    assert other[0] is not h
    assert other[0].thread_ident != h.thread_ident


def test_greenlets_in_two_threads_are_independent():
    results = {}

    def thread_main(name):
        out = []
        gs = [hub.spawn(lambda i=i: (hub.sleep(0.01 * i), out.append(i))) for i in range(3)]
        hub.joinall(gs)
        results[name] = out
        get_hub().destroy()

    threads = [threading.Thread(target=thread_main, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"a": [0, 1, 2], "b": [0, 1, 2]}


def test_run_callback_order_and_cancel():
    out = []
    h = get_hub()
    h.run_callback(out.append, 1)
    cb = h.run_callback(out.append, 2)
    h.run_callback(out.append, 3)
    cb.cancel()
    assert not cb.pending
    hub.sleep(0)
    assert out == [1, 3]


def test_callback_error_is_printed_and_hub_goes_on(capsys):
    out = []
    h = get_hub()
    h.run_callback(lambda: 1 / 0)
    h.run_callback(out.append, "after")
    hub.sleep(0)
    hub.sleep(0)
    assert out == ["after"]
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_call_later_and_cancel(clock):
    out = []
    h = get_hub()
    h.call_later(2, out.append, "two")
    t = h.call_later(1, out.append, "one")
    t.cancel()
    assert not t.pending
    hub.sleep(3)
    assert out == ["two"]


def test_timer_cancelled_after_firing_does_not_run(clock):
    # Both timers fire in the same turn; the first one's callback cancels the second, whose
    # callback is already queued: it must not run.
    out = []
    h = get_hub()
    h.call_later(1, lambda: late.cancel())
    late = h.call_later(1, out.append, "late")
    hub.sleep(2)
    assert out == []
    assert not late.pending


def test_many_cancelled_timers_are_compacted(clock):
    h = get_hub()
    timers = [h.call_later(100 + i, lambda: None) for i in range(2000)]
    for t in timers:
        t.cancel()
    stats = h.statistics()
    assert stats.timer_heap < 1000 and stats.timers == 0
    hub.sleep(1)
    assert h.statistics().timer_heap == 0


def test_wake_claims_once():
    h = get_hub()
    w = new_waiter(hub.getcurrent())
    assert wake(h, w, "first")
    assert not wake(h, w, "second")
    assert h.suspend(w) == "first"


def test_suspend_timeout_value(clock):
    h = get_hub()
    w = new_waiter(hub.getcurrent())
    assert h.suspend(w, 1) is TIMEOUT


def test_wait_read_on_socketpair():
    a, b = socket.socketpair()
    with a, b:
        got = []

        def reader():
            hub.wait_read(a.fileno())
            got.append(a.recv(10))

        g = hub.spawn(reader)
        hub.sleep(0)
        assert got == []
        b.send(b"hi")
        g.join(timeout=5)
        assert got == [b"hi"]


def test_wait_write_is_immediate_on_empty_buffer():
    a, b = socket.socketpair()
    with a, b:
        hub.wait_write(a, timeout=5)


def test_wait_readwrite():
    a, b = socket.socketpair()
    with a, b:
        hub.wait_readwrite(a, timeout=5)


def test_wait_read_timeout():
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(socket.timeout):
            hub.wait_read(a, timeout=0.05)
        with pytest.raises(KeyError):
            hub.wait_read(a, timeout=0.05, timeout_exc=KeyError("custom"))
        assert get_hub().fd_statistics(a.fileno()).readers == 0


def test_several_waiters_on_one_fd():
    a, b = socket.socketpair()
    with a, b:
        woken = []

        def waiter(i):
            hub.wait_read(a, timeout=5)
            woken.append(i)

        gs = [hub.spawn(waiter, i) for i in range(3)]
        hub.sleep(0)
        b.send(b"x")
        hub.joinall(gs)
        assert sorted(woken) == [0, 1, 2]
        assert get_hub().fd_statistics(a.fileno()).readers == 0


def test_notify_closing_wakes_waiters_with_ebadf():
    a, b = socket.socketpair()
    errors = []

    def waiter():
        try:
            hub.wait_read(a)
        except OSError as e:
            errors.append(e.errno)

    gs = [hub.spawn(waiter) for _ in range(2)]
    hub.sleep(0)
    get_hub().notify_closing(a.fileno())
    a.close()
    hub.joinall(gs)
    b.close()
    assert errors == [errno.EBADF, errno.EBADF]


def test_killed_waiter_leaves_nothing_registered():
    a, b = socket.socketpair()
    with a, b:
        g = hub.spawn(hub.wait_read, a)
        hub.sleep(0)
        assert get_hub().fd_statistics(a.fileno()).readers == 1
        g.kill()
        stats = get_hub().fd_statistics(a.fileno())
        assert stats.readers == 0 and stats.writers == 0


def test_regular_file_is_always_ready(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"data")
    with open(path, "rb") as f:
        hub.wait_read(f, timeout=1)
        hub.wait_write(f.fileno(), timeout=1)


def test_bad_fd_raises_oserror():
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        hub.wait_read(r, timeout=1)


def test_fd_number_reused_after_close_behind_our_back():
    # A pipe registered through a bare-fd wait is closed without telling the hub, and its
    # number reused by a new pipe: waits on the new one must still be woken.
    r1, w1 = os.pipe()
    os.write(w1, b"x")
    hub.wait_read(r1, timeout=5)
    os.close(r1)
    os.close(w1)
    r2, w2 = os.pipe()
    try:
        g = hub.spawn(hub.wait_read, r2, 5)
        hub.sleep(0)
        os.write(w2, b"y")
        g.get()
    finally:
        os.close(r2)
        os.close(w2)


def test_dup_fd_gets_its_own_registration():
    a, b = socket.socketpair()
    c = a.dup()
    with a, b, c:
        hub.spawn(lambda: (hub.sleep(0.01), b.send(b"z")))
        hub.wait_read(c, timeout=5)
        assert c.recv(1) == b"z"


def test_run_threadsafe_wakes_a_sleeping_hub():
    h = get_hub()
    got = []
    done = hub.Greenlet(lambda: None)

    def from_thread():
        time.sleep(0.05)
        h.run_threadsafe(got.append, threading.get_ident())
        h.run_threadsafe(done.start)

    t = threading.Thread(target=from_thread)
    t.start()
    done.join(timeout=10)
    t.join()
    assert got and got[0] != threading.get_ident()
    assert done.dead


def test_run_threadsafe_burst():
    h = get_hub()
    got = []
    finished = hub.Greenlet(lambda: None)

    def burst():
        for i in range(1000):
            h.run_threadsafe(got.append, i)
        h.run_threadsafe(finished.start)

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finished.join(timeout=10)
    assert len(got) == 4000


def test_loopexit_names_the_wait():
    g = hub.Greenlet(lambda: None)  # never started
    with pytest.raises(LoopExit) as info:
        g.join()
    msg = str(info.value)
    assert "main greenlet" in msg and "Greenlet.join" in msg and "test_hub.py" in msg


def test_loopexit_from_sleep_in_child_does_not_hang():
    # Main waits for a child that waits for something that never comes.
    never = hub.Greenlet(lambda: None)
    child = hub.spawn(never.join)
    with pytest.raises(LoopExit):
        child.join()
    child.kill()  # still waiting for ``never``: the deadlock was the point


def test_hub_survives_loopexit():
    with pytest.raises(LoopExit):
        hub.Greenlet(lambda: None).join()
    assert hub.spawn(lambda: 3).get() == 3


def test_no_loopexit_while_another_thread_may_wake_us():
    h = get_hub()
    g = hub.Greenlet(lambda: "woken")

    def later():
        time.sleep(0.3)
        h.run_threadsafe(g.start)

    t = threading.Thread(target=later)
    t.start()
    assert g.get(timeout=10) == "woken"
    t.join()


def test_blocking_call_from_the_hub_is_refused(capsys):
    get_hub().run_callback(hub.sleep, 1)
    hub.sleep(0)
    assert "BlockingSwitchOutError" in capsys.readouterr().err


def test_destroyed_hub_is_replaced():
    h = get_hub()
    hub.sleep(0)
    h.destroy()
    h2 = get_hub()
    assert h2 is not h
    assert hub.spawn(lambda: 1).get() == 1


def test_hub_of_a_finished_thread_releases_its_fds():
    def count_fds():
        return len(os.listdir("/proc/self/fd"))

    def use_hub():
        hub.sleep(0)
        get_hub().destroy()

    before = count_fds()
    for _ in range(20):
        t = threading.Thread(target=use_hub)
        t.start()
        t.join()
    gc.collect()
    assert count_fds() <= before + 2


def test_fork_child_gets_its_own_hub():
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    a, b = socket.socketpair()
    hub.wait_write(a, timeout=1)  # register a with the parent's epoll
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            hub.spawn(lambda: (hub.sleep(0.01), b.send(b"c"))).join()
            hub.wait_read(a, timeout=5)
            code = 0 if a.recv(1) == b"c" else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    a.close()
    b.close()


@pytest.mark.parametrize("poller", ["selectors"])
def test_selectors_fallback_poller(poller, monkeypatch):
    monkeypatch.setenv("GREENPATCH_POLLER", poller)
    from hub._core import Hub
    from hub.testing import fresh_hub

    with fresh_hub() as h:
        assert h.statistics().poller == "selectors"
        assert Hub().statistics().poller == "selectors"
        a, b = socket.socketpair()
        with a, b:
            g = hub.spawn(lambda: (hub.wait_read(a, timeout=5), a.recv(5)))
            hub.sleep(0)
            b.send(b"hello")
            assert g.get()[1] == b"hello"
            with pytest.raises(socket.timeout):
                hub.wait_read(a, timeout=0.05)
            assert h.fd_statistics(a.fileno()).interest == 0


def test_fork_child_waits_on_fds_it_opens_after_the_fork():
    # The hub's loop was running in the parent when it forked, and the child's loop resumes
    # where it stood: events for fds first registered in the child must still reach their
    # waiters (socketserver.ForkingMixIn's handlers wait on the request socket like this).
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    hub.sleep(0.001)  # the loop is running
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            c, d = socket.socketpair()
            hub.spawn(lambda: (hub.sleep(0.02), d.send(b"x")))
            hub.wait_read(c, timeout=5)  # waits first: nothing has been sent yet
            code = 0 if c.recv(1) == b"x" else 2
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_fork_child_ends_the_state_of_an_fd_closed_behind_the_hubs_back():
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    a, b = socket.socketpair()
    fd = a.detach()
    h = hub.get_hub()
    st = h.fd_state(fd)  # registered, then closed without telling the hub
    os.close(fd)
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            code = 0 if (not h.fd_known(fd) and st.fd == -1) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    h.notify_closing(fd)  # (the parent's hub still knows the number)
    b.close()


def test_hot_hub_attributes_are_slots():
    # Python 3.11 does not specialise attribute loads from a greenlet subclass's instance dict;
    # the attributes every wait reads live in slots (see Hub.__slots__).
    h = hub.get_hub()
    for name in ("_ready", "_level_triggered", "_timers", "clock"):
        assert name not in h.__dict__
        getattr(h, name)


def test_poll_now_answers_readiness_without_waiting():
    import select

    from hub._core import poll_now

    a, b = socket.socketpair()
    try:
        assert poll_now(a.fileno(), select.POLLIN) == 0
        assert poll_now(a.fileno(), select.POLLOUT) & select.POLLOUT
        b.send(b"x")
        assert poll_now(a.fileno(), select.POLLIN) & select.POLLIN
        fd = os.dup(a.fileno())
        os.close(fd)
        assert poll_now(fd, select.POLLIN) & select.POLLNVAL  # a closed fd: never a wait
    finally:
        a.close()
        b.close()


def test_hub_of_finds_the_hub_of_any_threads_greenlet():
    from hub._core import hub_of

    assert hub_of(hub.getcurrent()) is get_hub()
    raw = hub.spawn_raw(lambda: None)
    assert hub_of(raw) is get_hub()
    found = []

    def other():
        found.append((hub_of(hub.spawn_raw(lambda: None)), get_hub()))
        hub.sleep(0)

    t = threading.Thread(target=other)
    t.start()
    t.join(30)
    ((theirs, their_hub),) = found
    assert theirs is their_hub and theirs is not get_hub()
    hub.sleep(0)
