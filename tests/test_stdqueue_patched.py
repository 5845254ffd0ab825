"""queue.Queue.put/get and threading.Event.wait/set as patch_queue()/patch_thread() set them.

The methods are set on the stdlib's own classes; these programs check that they keep the
stdlib's behaviour where it is easy to lose: a subclass's ``_put``/``_get``/``_qsize``, a
``_put`` that raises, timeouts, ``maxsize`` changed while a put waits, user code waiting on
``q.not_empty`` itself, and a real OS thread on the other end (no lost wake-up, no spin).
Each runs in a fresh interpreter (see test_threading_patched.py).
"""

from __future__ import annotations

import sys

import pytest
from test_threading_patched import run_ok


def test_put_and_get_are_set_on_the_stdlib_class_and_honour_overrides():
    out = run_ok(
        """
        import queue, threading, monkeypatch
        print(queue.Queue.put.__module__, queue.Queue.get.__module__,
              monkeypatch.get_original("queue", "Queue.put").__module__)
        class Logged(queue.Queue):
            def _init(self, maxsize):
                self.queue = []
                self.log = []
            def _qsize(self):
                return len(self.queue)
            def _put(self, item):
                self.log.append(("put", item))
                self.queue.append(item * 10)
            def _get(self):
                self.log.append("get")
                return self.queue.pop()
        q = Logged(2)
        def consumer():
            for _ in range(4):
                got.append(q.get())
        got = []
        t = threading.Thread(target=consumer); t.start()
        for i in range(4):
            q.put(i)
        t.join()
        print(sorted(got), q.log.count("get"), len([e for e in q.log if e != "get"]),
              q.unfinished_tasks)
        class Failing(queue.Queue):
            fail = False
            def _put(self, item):
                if self.fail:
                    self.fail = False
                    raise KeyError("put failed")
                super()._put(item)
        f = Failing(1)
        f.put(1)
        f.fail = True
        threading.Thread(target=f.get).start()
        try:
            f.put(2)  # waits for the get, then _put raises here, in the putter
        except KeyError as e:
            print("raised", e, f.qsize(), f.unfinished_tasks, f.mutex.locked())
        """
    )
    assert out.splitlines() == [
        "hub._stdqueue hub._stdqueue queue",
        "[0, 10, 20, 30] 4 4 4",
        "raised 'put failed' 0 1 False",
    ]


def test_timeouts_full_empty_and_bad_arguments():
    out = run_ok(
        """
        import queue, threading, time
        q = queue.Queue(1)
        try: q.get(block=False)
        except queue.Empty: print("empty nowait")
        t0 = time.monotonic()
        try: q.get(timeout=0.05)
        except queue.Empty: print("empty timeout", time.monotonic() - t0 >= 0.04)
        q.put_nowait(1)
        try: q.put_nowait(2)
        except queue.Full: print("full nowait")
        try: q.put(2, timeout=0.02)
        except queue.Full: print("full timeout")
        for call in (lambda: q.put(2, timeout=-1), lambda: q.get(timeout=-1)):
            try: call()
            except ValueError as e: print("ValueError", e)
        print(q.get(), q.empty(), q.mutex.locked())
        # A timed put that a get frees in time, and maxsize raised while a put waits.
        threading.Timer(0.02, q.get).start()
        q.put("a")
        q.put("b", timeout=30)
        print(list(q.queue))
        def grow():
            with q.mutex:
                q.maxsize = 2
                q.not_full.notify()
        threading.Timer(0.02, grow).start()
        q.put("c")
        print(list(q.queue), q.qsize())
        """
    )
    assert out.splitlines() == [
        "empty nowait",
        "empty timeout True",
        "full nowait",
        "full timeout",
        "ValueError 'timeout' must be a non-negative number",
        "ValueError 'timeout' must be a non-negative number",
        "1 True False",
        "['b']",
        "['b', 'c'] 2",
    ]


def test_user_code_waiting_on_the_conditions_and_task_done_join():
    out = run_ok(
        """
        import queue, threading
        q = queue.Queue()
        seen = []
        def watcher():
            with q.not_empty:
                while not q.queue:
                    q.not_empty.wait()
                seen.append(q.queue[0])
        w = threading.Thread(target=watcher); w.start()
        getter = threading.Thread(target=lambda: seen.append(("got", q.get()))); getter.start()
        q.put("x")
        q.put("y")
        w.join(); getter.join()
        print(sorted(map(str, seen)))
        work = queue.Queue(3)
        def worker():
            while True:
                item = work.get()
                if item is None:
                    work.task_done()
                    return
                work.task_done()
        ws = [threading.Thread(target=worker) for _ in range(3)]
        for t in ws: t.start()
        for i in range(50): work.put(i)
        for _ in ws: work.put(None)
        work.join()
        print(work.unfinished_tasks, work.qsize())
        """
    )
    assert out.splitlines() == ["[\"('got', 'x')\", 'x']", "0 0"]


def test_real_os_threads_on_the_other_end():
    # A real thread puts into and gets from queues green threads block on (and the reverse),
    # and sets Events green threads wait on: every wake-up crosses threads through the hub.
    out = run_ok(
        """
        import queue, threading, monkeypatch
        RealThread = monkeypatch.get_original("threading", "Thread")
        to_green, to_real = queue.Queue(1), queue.Queue(1)
        def real_side():
            for i in range(300):
                to_green.put(i)
                assert to_real.get(timeout=30) == i
        got = []
        def green_side():
            for _ in range(300):
                item = to_green.get(timeout=30)
                got.append(item)
                to_real.put(item)
        g = threading.Thread(target=green_side); g.start()
        r = RealThread(target=real_side); r.start()
        g.join(); r.join()
        print(got == list(range(300)))
        events = [threading.Event() for _ in range(100)]
        woken = []
        def waiter():
            for ev in events:
                woken.append(ev.wait(30))
        ws = [threading.Thread(target=waiter) for _ in range(5)]
        for t in ws: t.start()
        def setter():
            for ev in events:
                ev.set()
        r = RealThread(target=setter); r.start(); r.join()
        for t in ws: t.join()
        print(len(woken), all(woken))
        """,
        timeout=120,
    )
    assert out.splitlines() == ["True", "500 True"]


def test_event_wait_timeouts_and_clear():
    out = run_ok(
        """
        import threading, time
        ev = threading.Event()
        print(ev.wait(0.01), ev.wait(-1), len(ev._cond._waiters))
        try: ev.wait(threading.TIMEOUT_MAX * 2)
        except OverflowError: print("overflow", ev._cond._lock.locked())
        try: ev.wait("1")
        except TypeError: print("type", ev._cond._lock.locked())
        results = []
        ts = [threading.Thread(target=lambda: results.append(ev.wait(30))) for _ in range(3)]
        for t in ts: t.start()
        time.sleep(0.01)
        print(len(ev._cond._waiters))
        ev.set()
        for t in ts: t.join()
        print(results, ev.is_set(), ev.wait(), len(ev._cond._waiters))
        ev.clear()
        short = threading.Thread(target=lambda: results.append(ev.wait(0.01))); short.start()
        short.join()
        print(results[-1], len(ev._cond._waiters))
        """
    )
    assert out.splitlines() == [
        "False False 0",
        "overflow False",
        "type False",
        "3",
        "[True, True, True] True True 0",
        "False 0",
    ]


@pytest.mark.skipif(sys.version_info < (3, 13), reason="Queue.shutdown() is 3.13's")
def test_shutdown_wakes_blocked_put_and_get():
    out = run_ok(
        """
        import queue, threading, time
        q = queue.Queue(1)
        q.put(0)
        errors = []
        def put():
            try: q.put(1)
            except queue.ShutDown: errors.append("put")
        e = queue.Queue()
        def get():
            try: e.get()
            except queue.ShutDown: errors.append("get")
        ts = [threading.Thread(target=put), threading.Thread(target=get)]
        for t in ts: t.start()
        time.sleep(0.01)
        q.shutdown(); e.shutdown()
        for t in ts: t.join()
        print(sorted(errors), q.get())
        """
    )
    assert out.splitlines() == ["['get', 'put'] 0"]


def test_a_subclass_overriding_put_before_patching_is_not_reported_stale():
    # The stdlib's put and get are cooperative on the patched locks; ours are only faster. So
    # patching late, after a subclass overrode them, warns about nothing (-W error).
    out = run_ok(
        """
        import queue, threading
        class Counting(queue.Queue):
            def put(self, item, block=True, timeout=None):
                super().put(item, block, timeout)
        import monkeypatch
        monkeypatch.patch_all()
        q = Counting(1)
        t = threading.Thread(target=lambda: [q.put(i) for i in range(3)]); t.start()
        print([q.get() for _ in range(3)])
        """,
        prelude="",
    )
    assert out.splitlines() == ["[0, 1, 2]"]
