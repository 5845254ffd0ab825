"""hub.select, hub.selectors and hub.time: the stdlib's semantics, waiting cooperatively."""

from __future__ import annotations

import os
import select as stdlib_select
import selectors as stdlib_selectors

import pytest

import hub
from hub import select, selectors, socket
from hub import time as hub_time
from hub._core import get_hub


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def no_waiters():
    return get_hub().statistics().fds_awaited == 0


def test_select_ready_now(pair):
    a, b = pair
    b.send(b"x")
    r, w, x = select.select([a], [a], [], 5)
    assert r == [a] and w == [a] and x == []


def test_select_waits_for_data(pair):
    a, b = pair
    g = hub.spawn(select.select, [a], [], [], 10)
    hub.sleep(0)
    assert not g.ready()
    b.send(b"go")
    assert g.get(timeout=10) == ([a], [], [])
    assert no_waiters()


def test_select_waits_for_data_given_generators(pair):
    # The stdlib takes any iterables; ours reads them again after the wait.
    a, b = pair
    hub.spawn(lambda: (hub.sleep(0.01), b.send(b"x")))
    r, w, x = select.select((s for s in [a]), (s for s in []), iter([]), 5)
    assert (r, w, x) == ([a], [], [])


def test_select_with_fd_numbers_and_objects(pair):
    a, b = pair
    b.send(b"x")
    assert select.select([a.fileno()], [], [], 1)[0] == [a.fileno()]


def test_select_timeout(clock, pair):
    a, _ = pair
    assert select.select([a], [], [], 3) == ([], [], [])
    assert clock() == pytest.approx(3)
    assert select.select([a], [], [], 0) == ([], [], [])
    assert no_waiters()


def test_select_without_fds_sleeps(clock):
    assert select.select([], [], [], 2) == ([], [], [])
    assert clock() == pytest.approx(2)


def test_select_errors_match_the_stdlib(pair):
    a, _ = pair
    with pytest.raises(ValueError):
        select.select([a], [], [], -1)
    with pytest.raises(TypeError):
        select.select([a], [], [], "soon")
    with pytest.raises(TypeError):
        select.select([object()], [], [], 0)
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        stdlib_select.select([r], [], [], 0)
    with pytest.raises(OSError):
        select.select([r], [], [], 0)


def test_killed_in_select_leaves_nothing_registered(pair):
    a, _ = pair
    g = hub.spawn(select.select, [a], [], [], None)
    hub.sleep(0)
    assert not no_waiters()
    g.kill()
    assert no_waiters()


def test_poll(pair):
    a, b = pair
    p = select.poll()
    p.register(a, select.POLLIN)
    assert p.poll(0) == []
    g = hub.spawn(p.poll, 10_000)
    hub.sleep(0)
    b.send(b"x")
    assert g.get(timeout=10) == [(a.fileno(), select.POLLIN)]
    p.modify(a, select.POLLOUT)
    assert p.poll(0) == [(a.fileno(), select.POLLOUT)]
    p.unregister(a)
    with pytest.raises(KeyError):
        p.unregister(a)


def test_poll_one_fd_close_and_float_timeout(clock, pair):
    # A poll object with one fd waits on that fd alone (psycopg's wait_poll): a close during
    # the wait answers POLLNVAL, a float timeout expires on the clock, nothing is left waiting.
    a, _ = pair
    p = select.poll()
    p.register(a, select.POLLIN)
    assert p.poll(1500.0) == []
    assert clock() == pytest.approx(1.5)
    fd = a.fileno()
    g = hub.spawn(p.poll, 10_000)
    hub.sleep(0)
    a.close()
    assert g.get(timeout=10) == [(fd, select.POLLNVAL)]
    assert no_waiters()


def test_poll_timeout(clock, pair):
    a, _ = pair
    p = select.poll()
    p.register(a, select.POLLIN)
    assert p.poll(2500) == []
    assert clock() == pytest.approx(2.5)


def test_epoll(pair):
    a, b = pair
    with select.epoll() as ep:
        ep.register(a.fileno(), select.EPOLLIN)
        g = hub.spawn(ep.poll, 10)
        hub.sleep(0)
        assert not g.ready()
        b.send(b"x")
        assert g.get(timeout=10) == [(a.fileno(), select.EPOLLIN)]
        assert not ep.closed
    assert ep.closed


def test_epoll_timeout(clock, pair):
    a, _ = pair
    ep = select.epoll()
    ep.register(a.fileno(), select.EPOLLIN)
    assert ep.poll(1.5) == []
    assert clock() == pytest.approx(1.5)
    ep.close()


@pytest.mark.parametrize(
    "name", ["DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector"]
)
def test_selectors(name, pair):
    a, b = pair
    cls = getattr(selectors, name)
    assert issubclass(cls, getattr(stdlib_selectors, name))
    with cls() as sel:
        sel.register(a, selectors.EVENT_READ, "data")
        assert sel.select(0) == []
        g = hub.spawn(sel.select, 10)
        hub.sleep(0)
        assert not g.ready()
        b.send(b"x")
        [(key, events)] = g.get(timeout=10)
        assert key.fileobj is a and key.data == "data" and events == selectors.EVENT_READ
        sel.modify(a, selectors.EVENT_WRITE)
        assert sel.select(1)[0][1] == selectors.EVENT_WRITE
    assert no_waiters()


def test_selector_timeout(clock, pair):
    a, _ = pair
    with selectors.DefaultSelector() as sel:
        sel.register(a, selectors.EVENT_READ)
        assert sel.select(4) == []
        assert clock() == pytest.approx(4)


def test_default_selector_is_epoll_on_linux():
    if hasattr(stdlib_selectors, "EpollSelector"):
        assert selectors.DefaultSelector is selectors.EpollSelector


def test_time_sleep_is_cooperative(clock):
    out = []
    hub.spawn(out.append, "ran while main slept")
    hub_time.sleep(5)
    assert out and clock() == pytest.approx(5)


@pytest.mark.parametrize("bad", ["1", None, [1], float("nan"), -1, 1e300])
def test_time_sleep_argument_errors_match_the_stdlib(bad):
    import time

    with pytest.raises(Exception) as expected:
        time.sleep(bad)
    with pytest.raises(type(expected.value)):
        hub_time.sleep(bad)


def test_time_module_reexports():
    import time

    assert hub_time.monotonic is time.monotonic
    assert hub_time.time is time.time
    assert hub_time.sleep is not time.sleep
