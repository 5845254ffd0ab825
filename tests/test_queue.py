"""Queues: every kind, blocking and timeouts, hand-over, kills, producers and consumers."""

from __future__ import annotations

import queue as stdlib_queue

import pytest

import hub
from hub import Channel, JoinableQueue, LifoQueue, PriorityQueue, Queue, SimpleQueue, Timeout
from hub.queue import Empty, Full


def test_raises_stdlib_exceptions():
    assert Empty is stdlib_queue.Empty and Full is stdlib_queue.Full
    q = Queue(1)
    with pytest.raises(stdlib_queue.Empty):
        q.get_nowait()
    q.put_nowait(1)
    with pytest.raises(stdlib_queue.Full):
        q.put_nowait(2)
    with pytest.raises(stdlib_queue.Full):
        q.put(2, block=False)


def test_fifo_basics():
    q = Queue(items=[1, 2])
    assert q.qsize() == 2 and len(q) == 2 and not q.empty() and not q.full()
    assert q.maxsize is None
    q.put(3)
    assert [q.get(), q.get(), q.get()] == [1, 2, 3]
    assert q.empty() and bool(q) is True  # like gevent: always true
    assert "Queue" in repr(q)


def test_maxsize_zero_or_negative_is_unbounded():
    for size in (0, -1, None):
        q = Queue(size)
        for i in range(100):
            q.put_nowait(i)
        assert not q.full() and q.maxsize is None


def test_lifo_and_priority():
    lq = LifoQueue()
    for i in range(3):
        lq.put(i)
    assert lq.peek() == 2
    assert [lq.get() for _ in range(3)] == [2, 1, 0]
    pq = PriorityQueue(items=[5, 1])
    pq.put(3)
    pq.put(0)
    assert pq.peek_nowait() == 0
    assert [pq.get() for _ in range(4)] == [0, 1, 3, 5]


def test_get_blocks_until_put_fifo_getters():
    q = Queue()
    out = []
    gs = [hub.spawn(lambda i=i: out.append((i, q.get()))) for i in range(3)]
    hub.sleep(0)
    for item in "abc":
        q.put(item)
    hub.joinall(gs)
    assert out == [(0, "a"), (1, "b"), (2, "c")]


def test_put_blocks_while_full_fifo_putters():
    q = Queue(1)
    q.put(0)
    done = []

    def putter(i):
        q.put(i)
        done.append(i)

    gs = [hub.spawn(putter, i) for i in (1, 2, 3)]
    hub.sleep(0)
    assert q.full() and done == []
    assert [q.get() for _ in range(4)] == [0, 1, 2, 3]
    hub.joinall(gs)
    assert done == [1, 2, 3] and q.empty()


def test_get_timeout(clock):
    q = Queue()
    with pytest.raises(Empty):
        q.get(timeout=1.5)
    assert clock() == pytest.approx(1.5)
    with pytest.raises(Empty):
        q.get(timeout=0)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    assert q.statistics().getters == 0


def test_put_timeout(clock):
    q = Queue(1)
    q.put(1)
    with pytest.raises(Full):
        q.put(2, timeout=2)
    assert clock() == pytest.approx(2)
    with pytest.raises(ValueError):
        q.put(2, timeout=-1)
    assert q.qsize() == 1 and q.statistics().putters == 0


def test_get_timeout_then_item_goes_to_next_getter(clock):
    q = Queue()
    out = []
    a = hub.spawn(lambda: out.append(("a", q.get(timeout=1))))
    b = hub.spawn(lambda: out.append(("b", q.get(timeout=5))))
    hub.spawn_later(2, q.put, "x")
    hub.joinall([a, b])
    assert out == [("b", "x")]
    assert isinstance(a.exception, Empty)
    assert q.empty() and q.statistics().getters == 0


def test_killed_getter_leaves_queue_consistent():
    q = Queue()
    out = []
    a = hub.spawn(lambda: out.append(("a", q.get())))
    b = hub.spawn(lambda: out.append(("b", q.get())))
    hub.sleep(0)
    a.kill()
    assert q.statistics().getters == 1
    q.put(1)
    b.join()
    assert out == [("b", 1)]


def test_item_not_lost_when_woken_getter_is_killed():
    q = Queue()
    out = []
    a = hub.spawn(lambda: out.append(("a", q.get())))
    b = hub.spawn(lambda: out.append(("b", q.get())))
    hub.sleep(0)
    a.kill(block=False)  # the kill is queued first...
    q.put("item")  # ...then a is handed the item: it unwinds and hands it on to b
    hub.joinall([a, b])
    assert out == [("b", "item")]
    assert q.empty()


def test_item_returned_to_queue_when_nobody_else_waits():
    q = Queue()
    a = hub.spawn(q.get)
    hub.sleep(0)
    a.kill(block=False)
    q.put(1)
    q.put(2)
    a.join()
    assert [q.get_nowait(), q.get_nowait()] == [1, 2]  # order kept


def test_killed_putter_item_not_added():
    q = Queue(1)
    q.put(0)
    p = hub.spawn(q.put, 1)
    hub.sleep(0)
    p.kill()
    assert q.statistics().putters == 0
    assert q.get() == 0 and q.empty()


def test_get_under_timeout(clock):
    q = Queue()
    with pytest.raises(Timeout), Timeout(1):
        q.get()
    assert q.statistics().getters == 0
    q.put(1)
    assert q.get() == 1


def test_producers_consumers_bounded():
    q = Queue(3)
    n_producers, per_producer = 4, 250
    received = []

    def producer(p):
        for i in range(per_producer):
            q.put((p, i))
            if i % 7 == 0:
                hub.sleep(0)

    def consumer():
        while True:
            item = q.get()
            if item is None:
                return
            assert q.qsize() <= 3
            received.append(item)

    consumers = [hub.spawn(consumer) for _ in range(3)]
    hub.joinall([hub.spawn(producer, p) for p in range(n_producers)])
    for _ in consumers:
        q.put(None)
    hub.joinall(consumers)
    assert sorted(received) == [(p, i) for p in range(n_producers) for i in range(per_producer)]
    assert q.statistics().getters == 0 and q.statistics().putters == 0


def test_producers_one_consumer_keeps_each_producers_order():
    q = Queue(2)
    received = []

    def producer(p):
        for i in range(100):
            q.put((p, i))

    def consumer():
        for _ in range(300):
            received.append(q.get())

    c = hub.spawn(consumer)
    hub.joinall([hub.spawn(producer, p) for p in range(3)])
    c.join()
    for p in range(3):
        assert [i for (pp, i) in received if pp == p] == list(range(100))


def test_iteration_stops_at_stopiteration():
    q = Queue()
    for i in range(3):
        q.put(i)
    q.put(StopIteration)
    assert list(q) == [0, 1, 2]


def test_peek_blocks_without_consuming(clock):
    q = Queue()
    out = []
    g = hub.spawn(lambda: out.append(q.peek()))
    getter = hub.spawn(lambda: out.append(("got", q.get())))
    hub.sleep(0)
    q.put(7)
    hub.joinall([g, getter])
    assert out == [7, ("got", 7)]
    with pytest.raises(Empty):
        q.peek(timeout=1)
    with pytest.raises(Empty):
        q.peek_nowait()
    assert q.statistics().getters == 0


def test_joinable_queue():
    q = JoinableQueue()
    assert q.join(timeout=0) is True
    processed = []

    def worker():
        for item in q:
            hub.sleep(0)
            processed.append(item)
            q.task_done()

    w = hub.spawn(worker)
    for i in range(5):
        q.put(i)
    assert q.unfinished_tasks == 5
    assert q.join() is True
    assert processed == [0, 1, 2, 3, 4] and q.unfinished_tasks == 0
    with pytest.raises(ValueError, match="too many"):
        q.task_done()
    q.put(StopIteration)  # ends the worker's ``for item in q``
    w.join()


def test_joinable_queue_join_timeout_and_failed_put(clock):
    q = JoinableQueue(1)
    q.put(1)
    assert q.join(timeout=1) is False
    with pytest.raises(Full):
        q.put_nowait(2)
    with pytest.raises(Full):
        q.put(2, timeout=1)
    assert q.unfinished_tasks == 1  # the failed puts were not counted
    q.get()
    q.task_done()
    assert q.join(timeout=1) is True
    q2 = JoinableQueue(items=[1, 2])
    assert q2.unfinished_tasks == 2


def test_simple_queue():
    q = SimpleQueue()
    q.put(1)
    q.put_nowait(2)
    assert q.qsize() == 2 and not q.empty()
    assert q.get() == 1 and q.get_nowait() == 2
    with pytest.raises(Empty):
        q.get(block=False)


def test_channel_put_waits_for_getter(clock):
    ch = Channel()
    assert ch.maxsize == 0 and ch.qsize() == 0
    assert ch.full() and ch.empty()
    with pytest.raises(Full):
        ch.put_nowait(1)
    with pytest.raises(Full):
        ch.put(1, timeout=1)
    log = []

    def putter():
        ch.put("a")
        log.append("put returned")

    g = hub.spawn(putter)
    hub.sleep(0)
    assert log == [] and not ch.empty() and ch.peek_nowait() == "a"
    assert ch.get() == "a"
    g.join()
    assert log == ["put returned"]
    getter = hub.spawn(ch.get)
    hub.sleep(0)
    assert not ch.full()
    ch.put_nowait("b")
    assert getter.get() == "b"
    assert ch.statistics().putters == 0 and ch.statistics().getters == 0


def test_channel_timed_out_putter_not_taken(clock):
    ch = Channel()
    g = hub.spawn(ch.put, "late", timeout=1)
    hub.sleep(2)
    with pytest.raises(Full):
        g.get()
    with pytest.raises(Empty):
        ch.get(timeout=1)


def test_deadlocked_get_raises_loopexit():
    q = Queue()
    with pytest.raises(hub.LoopExit, match=r"get\(\)"):
        q.get()
    assert q.statistics().getters == 0


def test_put_from_hub_callback_never_blocks():
    q = Queue()
    hub.get_hub().run_callback(q.put, 5)
    assert q.get() == 5
