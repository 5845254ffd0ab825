"""The rest of gevent's public API: module-level kill and spawn_raw, Greenlet extras, futures,
DummySemaphore, map_cb, fd waits with cancel_wait, Queue.shutdown, ThreadPoolExecutor."""

from __future__ import annotations

import concurrent.futures
import errno
import os
import socket
import sys
import threading

import pytest
from greenlet import greenlet

import hub
import hub.socket
from hub.pool import Group, Pool
from hub.queue import Channel, JoinableQueue, PriorityQueue, Queue, ShutDown
from hub.threadpool import ThreadPoolExecutor

# -- hub.kill, hub.spawn_raw, switch interval ---------------------------------------------------


def test_kill_a_raw_greenlet_is_asynchronous():
    out = []

    def body():
        try:
            hub.sleep(10)
        except ZeroDivisionError:
            out.append("killed")

    g = hub.spawn_raw(body)
    hub.sleep(0)  # let it start and wait
    hub.kill(g, ZeroDivisionError)
    assert out == [] and not g.dead  # asynchronous, as gevent's
    hub.sleep(0)
    hub.sleep(0)
    assert out == ["killed"] and g.dead


def test_kill_block_waits_for_a_raw_greenlet():
    g = hub.spawn_raw(hub.sleep, 10)
    hub.sleep(0)
    hub.kill(g, block=True, timeout=5)
    assert g.dead


def test_kill_block_timeout_returns_if_it_survives(clock):
    def stubborn():
        while True:
            try:
                hub.sleep(1)
            except hub.GreenletExit:
                pass
            except ValueError:
                return

    g = hub.spawn_raw(stubborn)
    hub.sleep(0)
    start = clock()
    hub.kill(g, block=True, timeout=0.5)
    assert not g.dead and clock() - start >= 0.5
    hub.kill(g, ValueError, block=True, timeout=5)
    assert g.dead


def test_kill_a_raw_greenlet_of_another_thread_runs_on_its_hub():
    # The target sleeps for a minute in its own thread, whose hub has nothing else to do: the
    # kill must reach that hub and wake it, from here, for the bounded waits below to succeed.
    started = threading.Event()
    outcome = []
    box = []

    def body(killed):
        try:
            hub.sleep(60)
        except ZeroDivisionError:
            outcome.append(threading.get_ident())
            killed.set()

    def thread_main():
        killed = hub.Event()
        box.append(hub.spawn_raw(body, killed))
        hub.sleep(0)  # let it start and wait
        started.set()
        outcome.append(killed.wait(timeout=40))

    t = threading.Thread(target=thread_main)
    t.start()
    try:
        assert started.wait(30)
        hub.kill(box[0], ZeroDivisionError, block=True, timeout=30)
        assert box[0].dead
    finally:
        t.join(50)
    assert outcome == [t.ident, True]


def test_kill_uses_greenlet_kill_so_an_unstarted_one_never_runs():
    out = []
    g = hub.spawn(out.append, 1)
    hub.kill(g)
    hub.sleep(0)
    assert out == [] and g.dead and g.successful()
    hub.kill(g)  # dead: a no-op


def test_kill_self_raises_here():
    out = []

    def body():
        try:
            hub.kill(greenlet.getcurrent(), ValueError("me"))
        except ValueError:
            out.append("raised")

    hub.spawn_raw(body)
    hub.sleep(0)
    assert out == ["raised"]


def test_spawn_raw_runs_with_args_and_errors_are_printed(capsys):
    out = []
    g = hub.spawn_raw(lambda a, b: out.append(a + b), 1, b=2)
    assert isinstance(g, greenlet) and not isinstance(g, hub.Greenlet)
    assert g.parent is hub.get_hub()
    hub.sleep(0)
    assert out == [3] and g.dead
    hub.spawn_raw(lambda: 1 / 0)
    hub.sleep(0)
    assert "ZeroDivisionError" in capsys.readouterr().err
    with pytest.raises(TypeError):
        hub.spawn_raw(42)


def test_switch_interval_is_sys():
    old = hub.getswitchinterval()
    assert old == sys.getswitchinterval()
    try:
        hub.setswitchinterval(0.002)
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        hub.setswitchinterval(old)


# -- Greenlet extras ----------------------------------------------------------------------------


def test_exc_info():
    ok = hub.spawn(lambda: 1)
    bad = hub.spawn(lambda: 1 / 0)
    assert not ok.exc_info and bad.exc_info is None  # not finished: a false value
    hub.joinall([ok, bad])
    assert ok.exc_info is None
    typ, exc, tb = bad.exc_info
    assert typ is ZeroDivisionError and exc is bad.exception and tb is not None


def test_has_links_and_unlink_all():
    calls = []
    g = hub.spawn(hub.sleep, 0.01)
    assert not g.has_links()
    g.rawlink(calls.append)
    g.link(calls.append)
    assert g.has_links() == 2
    joiner = hub.spawn(g.join)
    hub.sleep(0)  # the joiner waits: that is not a link
    assert g.has_links() == 2
    g.unlink_all()
    assert not g.has_links()
    joiner.get(timeout=5)  # join() still returned
    hub.sleep(0)
    assert calls == []


def test_spawning_greenlet():
    main = greenlet.getcurrent()
    seen = []

    def child():
        me = hub.getcurrent()
        seen.append(me.spawning_greenlet())
        grandchild = hub.spawn(lambda: seen.append(hub.getcurrent().spawning_greenlet()))
        grandchild.join()
        assert grandchild.spawning_greenlet() is None  # finished: no longer known

    g = hub.spawn(child)
    g.get()
    assert seen == [main, g]
    assert g.parent is hub.get_hub()


def test_spawn_tree_locals_survive_a_finished_middle_greenlet():
    # The request greenlet sets a value, spawns a worker that spawns a helper and returns at
    # once; the helper, running later, still sees the request's tree.
    got = hub.AsyncResult()

    def helper():
        got.set(hub.getcurrent().spawn_tree_locals.get("request_id"))

    def worker():
        hub.spawn_later(0.01, helper)

    def request():
        hub.getcurrent().spawn_tree_locals["request_id"] = 42
        hub.spawn(worker).join()

    hub.spawn(request).join()
    assert got.get(timeout=5) == 42


def test_spawn_tree_locals_are_shared_down_a_tree():
    seen = {}

    def leaf(name):
        seen[name] = hub.getcurrent().spawn_tree_locals.get("request")

    def root(request):
        hub.getcurrent().spawn_tree_locals["request"] = request
        hub.joinall(
            [
                hub.spawn(leaf, f"{request}-a"),
                hub.spawn(lambda: hub.spawn(leaf, f"{request}-b").join()),
            ]
        )

    hub.joinall([hub.spawn(root, 1), hub.spawn(root, 2)])
    # Each child of the main greenlet started its own tree.
    assert seen == {"1-a": 1, "1-b": 1, "2-a": 2, "2-b": 2}


def test_spawn_tree_locals_assign_starts_a_new_tree():
    def body():
        me = hub.getcurrent()
        me.spawn_tree_locals = {"x": 1}
        return hub.spawn(lambda: hub.getcurrent().spawn_tree_locals).get()

    assert hub.spawn(body).get() == {"x": 1}


def test_spawn_tree_locals_through_a_raw_greenlet():
    got = []

    def raw():
        a = hub.spawn(lambda: hub.getcurrent().spawn_tree_locals)
        b = hub.spawn(lambda: hub.getcurrent().spawn_tree_locals)
        got.extend([a.get(), b.get()])

    hub.spawn_raw(raw)
    hub.sleep(0.01)
    assert got[0] is got[1]


# -- AsyncResult as a future, DummySemaphore, map_cb --------------------------------------------


def test_async_result_future_names():
    r = hub.AsyncResult()
    assert not r.done() and not r.cancel() and not r.cancelled()
    with pytest.raises(hub.Timeout):
        r.result(timeout=0)
    hub.spawn(r.set_result, 7)
    assert r.result(timeout=5) == 7 and r.done()
    bad = hub.AsyncResult()
    bad.set_exception(KeyError("k"))
    with pytest.raises(KeyError):
        bad.result()
    assert isinstance(bad.exception, KeyError)  # a property, as gevent's


def test_dummy_semaphore():
    s = hub.DummySemaphore()
    assert s.acquire() and s.acquire(blocking=False, timeout=0) and not s.locked()
    assert s.wait() == 1 and s.ready() and s.counter == 1
    s.release()
    with s:
        pass
    assert hub.wait([s], timeout=5) == [s]  # rawlink: always ready
    assert repr(s).startswith("<DummySemaphore")


@pytest.mark.parametrize("group", [Group, lambda: Pool(2)])
def test_map_cb(group):
    got = []
    assert group().map_cb(lambda x: x * 2, [1, 2, 3], callback=got.append) == [2, 4, 6]
    assert got == [[2, 4, 6]]
    assert group().map_cb(str, [1]) == ["1"]


# -- hub.socket.wait_read & co, cancel_wait -----------------------------------------------------


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_socket_module_waits(pair):
    a, b = pair
    hub.socket.wait_write(a, timeout=5)
    hub.spawn_later(0.01, b.send, b"x")
    hub.socket.wait_read(a.fileno(), timeout=5)
    hub.socket.wait_readwrite(a, timeout=5)
    assert a.recv(1) == b"x"
    with pytest.raises(socket.timeout):
        hub.socket.wait_read(a, timeout=0.01)
    with pytest.raises(KeyError):
        hub.socket.wait_read(a, timeout=0.01, timeout_exc=KeyError("t"))


def test_wait_read_is_level_triggered(pair):
    # A second wait on data nobody read returns at once: the hub's epoll is edge-triggered, and
    # its one edge was consumed by the first wait.
    a, b = pair
    b.send(b"z")
    hub.socket.wait_read(a, timeout=5)
    hub.socket.wait_read(a, timeout=5)
    hub.socket.wait_readwrite(a.fileno(), timeout=5)
    assert a.recv(1) == b"z"


def test_cancel_wait_wakes_waiters_with_an_error(pair):
    a, b = pair
    waiters = [hub.spawn(hub.socket.wait_read, a) for _ in range(2)]
    hub.sleep(0)
    hub.socket.cancel_wait(a)
    hub.joinall(waiters, timeout=5)
    for g in waiters:
        assert isinstance(g.exception, OSError) and g.exception.errno == errno.EBADF
    custom = hub.spawn(hub.socket.wait_read, a.fileno())
    hub.sleep(0)
    hub.socket.cancel_wait(a.fileno(), ValueError("stop"))
    custom.join(timeout=5)
    assert isinstance(custom.exception, ValueError)
    # The fd is still usable and still watched.
    hub.spawn_later(0.01, b.send, b"y")
    hub.socket.wait_read(a, timeout=5)
    assert a.recv(1) == b"y"
    hub.socket.cancel_wait(a)  # nobody waits: a no-op


def test_cancel_wait_of_an_unknown_fd_is_a_no_op():
    r, w = os.pipe()
    try:
        hub.socket.cancel_wait(r)
    finally:
        os.close(r)
        os.close(w)


# -- Queue.shutdown -----------------------------------------------------------------------------


def test_shutdown_put_raises_get_drains_then_raises():
    q = Queue()
    q.put(1)
    q.put(2)
    assert not q.is_shutdown
    q.shutdown()
    assert q.is_shutdown
    with pytest.raises(ShutDown):
        q.put(3)
    with pytest.raises(ShutDown):
        q.put_nowait(3)
    assert q.get() == 1 and q.get_nowait() == 2
    with pytest.raises(ShutDown):
        q.get()
    with pytest.raises(ShutDown):
        q.get_nowait()
    with pytest.raises(ShutDown):
        q.peek()


def test_shutdown_wakes_blocked_getters_and_putters():
    getters = Queue()
    g = [hub.spawn(getters.get) for _ in range(2)]
    full = Queue(1, [0])
    p = hub.spawn(full.put, 1)
    hub.sleep(0)
    getters.shutdown()
    full.shutdown()
    hub.joinall([*g, p], timeout=5)
    assert all(isinstance(x.exception, ShutDown) for x in [*g, p])
    assert full.get() == 0  # what was in stays until drained


def test_shutdown_immediate_discards_and_counts_tasks_done():
    q = JoinableQueue(items=[1, 2, 3])
    q.get()
    q.task_done()
    q.shutdown(immediate=True)
    assert q.qsize() == 0 and q.unfinished_tasks == 0
    assert q.join(timeout=5)
    with pytest.raises(ShutDown):
        q.get()


def test_shutdown_rejected_put_does_not_count_a_task():
    q = JoinableQueue()
    q.shutdown()
    with pytest.raises(ShutDown):
        q.put(1)
    assert q.unfinished_tasks == 0


def test_shutdown_priority_queue_and_channel():
    pq = PriorityQueue(items=[3, 1, 2])
    pq.shutdown(immediate=True)
    assert pq.qsize() == 0
    ch = Channel()
    putter = hub.spawn(ch.put, "x")
    hub.sleep(0)
    ch.shutdown()
    putter.join(timeout=5)
    assert isinstance(putter.exception, ShutDown)


def test_shutdown_wakes_a_getter_of_another_thread():
    q = Queue()
    out = []

    def consumer():
        try:
            q.get(timeout=30)
        except ShutDown:
            out.append("shutdown")

    t = threading.Thread(target=consumer)
    t.start()
    # Whether the consumer waits already or gets there later, it must end with ShutDown.
    hub.sleep(0.05)
    q.shutdown()
    t.join(10)
    assert out == ["shutdown"]


@pytest.mark.skipif(sys.version_info < (3, 13), reason="queue.ShutDown is new in Python 3.13")
def test_shutdown_is_the_stdlib_exception():
    import queue

    assert ShutDown is queue.ShutDown


# -- ThreadPoolExecutor -------------------------------------------------------------------------


def test_executor_future_does_not_block_the_hub():
    gate = threading.Event()  # a real (unpatched) Event: the worker really blocks on it
    ticks = []
    with ThreadPoolExecutor(max_workers=2) as ex:
        fut = ex.submit(lambda: gate.wait(10) and "done")
        assert isinstance(fut, concurrent.futures.Future)

        def ticker():
            for i in range(3):
                ticks.append(i)
                hub.sleep(0.001)
            gate.set()

        hub.spawn(ticker)
        assert fut.result(timeout=10) == "done"  # waited cooperatively: the ticker ran
    assert ticks == [0, 1, 2]


def test_executor_exception_timeout_cancel_and_map():
    with ThreadPoolExecutor(max_workers=1) as ex:
        bad = ex.submit(lambda: 1 / 0)
        assert isinstance(bad.exception(timeout=10), ZeroDivisionError)
        with pytest.raises(ZeroDivisionError):
            bad.result()
        gate = threading.Event()
        slow = ex.submit(gate.wait, 10)
        queued = ex.submit(lambda: "never")
        with pytest.raises(concurrent.futures.TimeoutError):
            slow.result(timeout=0.01)
        assert queued.cancel() and queued.cancelled()
        with pytest.raises(concurrent.futures.CancelledError):
            queued.result()
        gate.set()
        assert slow.result(timeout=10) is True
        assert list(ex.map(lambda x: x * x, range(5))) == [0, 1, 4, 9, 16]
    with pytest.raises(RuntimeError):
        ex.submit(print)


def test_executor_futures_with_hub_wait_and_concurrent_futures():
    with ThreadPoolExecutor(max_workers=3) as ex:
        futures = [ex.submit(lambda i=i: i) for i in range(3)]
        assert sorted(f.result() for f in hub.wait(futures, timeout=10)) == [0, 1, 2]
        more = [ex.submit(lambda i=i: i) for i in range(3)]
        done, not_done = concurrent.futures.wait(more, timeout=10)
        assert len(done) == 3 and not not_done
        assert sorted(f.result() for f in concurrent.futures.as_completed(more, timeout=10)) == [
            0,
            1,
            2,
        ]


def test_executor_waiting_from_the_main_greenlet_is_not_a_deadlock():
    # Only pool threads are alive and nothing else is scheduled: the in-flight call keeps the
    # hub waiting instead of raising LoopExit.
    with ThreadPoolExecutor(max_workers=1) as ex:
        gate = threading.Event()
        fut = ex.submit(gate.wait, 10)
        threading.Timer(0.05, gate.set).start()
        assert fut.result(timeout=10) is True


def test_executor_initializer_and_shutdown_cancel():
    seen = []
    ex = ThreadPoolExecutor(max_workers=1, initializer=seen.append, initargs=("init",))
    gate = threading.Event()
    first = ex.submit(gate.wait, 10)
    second = ex.submit(lambda: "x")
    hub.sleep(0.01)
    gate.set()
    assert first.result(timeout=10) is True and second.result(timeout=10) == "x"
    assert seen == ["init"]  # once per worker thread
    blocker = threading.Event()
    started = threading.Event()
    running = ex.submit(lambda: (started.set(), blocker.wait(10))[1])
    # The worker must have taken it before the shutdown (on a loaded machine the OS may not
    # have run the worker thread yet, and the job would be cancelled with the pending one).
    assert started.wait(10)
    pending = ex.submit(lambda: "no")
    threading.Timer(0.05, blocker.set).start()
    ex.shutdown(wait=True, cancel_futures=True)
    assert running.result() is True and pending.cancelled()
    with pytest.raises(ValueError):
        ThreadPoolExecutor(max_workers=0)


def test_executor_failing_initializer_breaks_the_job():
    ex = ThreadPoolExecutor(max_workers=1, initializer=lambda: 1 / 0)
    with pytest.raises(concurrent.futures.BrokenExecutor):
        ex.submit(lambda: 1).result(timeout=10)
    ex.shutdown()


def test_executor_submit_from_another_thread_is_refused():
    ex = ThreadPoolExecutor(max_workers=1)
    errors = []

    def other():
        try:
            ex.submit(print)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    assert errors
    ex.shutdown()
