"""Synchronisation objects across OS threads: wake-ups go through the waiting thread's hub.

These use real threads and real time; every wait has a generous bound and nothing asserts on
speed.
"""

from __future__ import annotations

import threading
import time

import pytest

import hub
from hub import AsyncResult, Event, Queue, Semaphore

LONG = 30.0  # a bound that is never reached unless something is broken


def _in_thread(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def test_event_set_from_plain_thread_wakes_greenlets():
    ev = Event()
    woken = []
    gs = [hub.spawn(lambda i=i: woken.append((i, ev.wait(LONG)))) for i in range(5)]
    hub.sleep(0)
    t = _in_thread(lambda: (time.sleep(0.05), ev.set()))
    hub.joinall(gs)
    t.join(LONG)
    assert woken == [(i, True) for i in range(5)]


def test_event_main_greenlet_waits_for_thread():
    ev = Event()
    t = _in_thread(lambda: (time.sleep(0.05), ev.set()))
    assert ev.wait(LONG) is True  # no LoopExit: another thread may wake us
    t.join(LONG)


def test_asyncresult_set_from_thread():
    r = AsyncResult()
    t = _in_thread(lambda: (time.sleep(0.02), r.set("from thread")))
    assert r.get(timeout=LONG) == "from thread"
    t.join(LONG)
    r2 = AsyncResult()
    t = _in_thread(lambda: r2.set_exception(KeyError("k")))
    with pytest.raises(KeyError):
        r2.get(timeout=LONG)
    t.join(LONG)


def test_event_rawlink_from_other_thread_set():
    ev = Event()
    seen = hub.AsyncResult()
    ev.rawlink(lambda e: seen.set(threading.get_ident()))
    t = _in_thread(ev.set)
    assert seen.get(timeout=LONG) == threading.get_ident()  # ran in our hub
    t.join(LONG)


def test_queue_put_from_threads_wakes_getter():
    q = Queue()
    n_threads, per_thread = 4, 500

    def producer(k):
        for i in range(per_thread):
            q.put((k, i))

    threads = [_in_thread(producer, k) for k in range(n_threads)]
    got = [q.get(timeout=LONG) for _ in range(n_threads * per_thread)]
    for t in threads:
        t.join(LONG)
    assert sorted(got) == sorted((k, i) for k in range(n_threads) for i in range(per_thread))
    for k in range(n_threads):
        assert [i for (kk, i) in got if kk == k] == list(range(per_thread))
    assert q.empty() and q.statistics().getters == 0


def test_bounded_queue_between_hub_threads():
    # A producer greenlet in another thread blocks on a full queue; we consume here.
    q = Queue(2)
    count = 1000

    def thread_main():
        def producer():
            for i in range(count):
                q.put(i, timeout=LONG)
            q.put(None, timeout=LONG)

        hub.spawn(producer).join()

    t = _in_thread(thread_main)
    got = []
    while True:
        item = q.get(timeout=LONG)
        if item is None:
            break
        got.append(item)
    t.join(LONG)
    assert got == list(range(count))
    assert q.statistics().putters == 0 and q.statistics().getters == 0


def test_ping_pong_between_hub_threads():
    to_thread, to_main = Queue(), Queue(1)
    rounds = 500

    def thread_main():
        for _ in range(rounds):
            to_main.put(to_thread.get(timeout=LONG) + 1, timeout=LONG)

    t = _in_thread(thread_main)
    value = 0
    for _ in range(rounds):
        to_thread.put(value)
        value = to_main.get(timeout=LONG)
    t.join(LONG)
    assert value == rounds


def test_semaphore_release_from_thread():
    s = Semaphore(0)
    t = _in_thread(lambda: (time.sleep(0.02), s.release()))
    assert s.acquire(timeout=LONG) is True
    t.join(LONG)
    assert s.counter == 0


def test_lock_handed_between_threads():
    lock = hub.Lock()
    counter = [0]
    per_thread = 200

    def work():
        for _ in range(per_thread):
            with lock:
                v = counter[0]
                hub.sleep(0)
                counter[0] = v + 1

    threads = [_in_thread(lambda: hub.spawn(work).join()) for _ in range(3)]
    hub.spawn(work).join()
    for t in threads:
        t.join(LONG)
    assert counter[0] == 4 * per_thread
    assert not lock.locked()


def _thread_with_hub():
    """A thread running a hub until told to stop; returns (its hub, stop event, thread)."""
    ready = threading.Event()
    box = {}
    stop = Event()

    def main():
        box["hub"] = hub.get_hub()
        ready.set()
        stop.wait(LONG)

    t = _in_thread(main)
    assert ready.wait(LONG)
    return box["hub"], stop, t


def _end_foreign_wait_before_its_claim(wait, waiting, hand_over):
    """A greenlet of another thread waits (``wait``); ``hand_over()`` here takes its entry out
    of the wait queue, and its wait ends (an exception thrown in, in its own hub) before the
    claim reaches that hub. The other hub is held in a callback meanwhile, so the order is
    certain: the throw runs first, then the claim, which must fail and hand the value back."""
    other_hub, stop, t = _thread_with_hub()
    box = {}
    go = threading.Event()
    other_hub.run_threadsafe(lambda: box.setdefault("g", hub.spawn(wait)))
    deadline = time.monotonic() + LONG
    while not waiting():
        assert time.monotonic() < deadline, "the other thread's greenlet never waited"
        time.sleep(0.001)
    other_hub.run_threadsafe(go.wait, LONG)  # holds the other hub until go is set
    other_hub.run_threadsafe(lambda: box["g"].throw(hub.GreenletExit))
    hand_over()  # its claim is queued behind the two calls above
    go.set()
    return box, stop, t


def test_item_handed_back_when_foreign_getter_is_gone():
    q = Queue()
    box, stop, t = _end_foreign_wait_before_its_claim(
        lambda: q.get(timeout=LONG), lambda: q.statistics().getters == 1, lambda: q.put("precious")
    )
    assert q.get(timeout=LONG) == "precious"  # handed back by the other thread's hub
    assert isinstance(box["g"].value, hub.GreenletExit)
    stop.set()
    t.join(LONG)


def test_permit_handed_back_when_foreign_waiter_is_gone():
    s = Semaphore(0)
    box, stop, t = _end_foreign_wait_before_its_claim(
        lambda: s.acquire(timeout=LONG), lambda: s.statistics().waiting == 1, s.release
    )
    assert s.acquire(timeout=LONG) is True
    assert isinstance(box["g"].value, hub.GreenletExit)
    stop.set()
    t.join(LONG)


def test_foreign_getter_timing_out_loses_nothing():
    # Many short timed gets in another thread race with puts from here; every item put must
    # be received exactly once.
    q = Queue()
    total = 300
    received = []
    done = threading.Event()

    def thread_main():
        def consumer():
            while len(received) < total:
                try:
                    received.append(q.get(timeout=0.001))
                except hub.queue.Empty:
                    pass

        hub.spawn(consumer).join()
        done.set()

    t = _in_thread(thread_main)
    for i in range(total):
        q.put(i)
        if i % 10 == 0:
            hub.sleep(0.001)
    assert done.wait(LONG)
    t.join(LONG)
    assert sorted(received) == list(range(total))
