"""threading, _thread, queue and concurrent.futures under patch_thread()/patch_queue().

Patching changes the whole process, so every test runs its program in a fresh interpreter
(``run_ok``); the program prints what the test asserts on. Times are bounded generously: a
green program that works takes a fraction of the bound, a blocking one takes many times it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRELUDE = "import monkeypatch\nmonkeypatch.patch_all()\n"


def run(code: str, timeout: float = 60, prelude: str = PRELUDE) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def run_ok(code: str, timeout: float = 60, prelude: str = PRELUDE) -> str:
    result = run(code, timeout, prelude)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr
    return result.stdout


def test_threads_are_greenlets_of_the_calling_thread():
    out = run_ok(
        """
        import _thread, threading, time
        import hub._core, hub._thread
        main = threading.main_thread()
        assert threading.current_thread() is main
        seen = {}
        def work(i):
            me = threading.current_thread()
            time.sleep(0.01)
            seen[i] = (me.name, threading.get_ident(), hub._core.get_ident(), me.daemon,
                       hub._thread.is_green_thread())
        ts = [threading.Thread(target=work, args=(i,), name=f"w{i}", daemon=i % 2 == 1)
              for i in range(4)]
        for t in ts:
            t.start()
        assert all(t.is_alive() for t in ts)
        assert threading.active_count() == 5
        assert set(threading.enumerate()) == {main, *ts}
        assert len({t.ident for t in ts} | {main.ident}) == 5
        assert len({t.native_id for t in ts}) == 4
        for t in ts:
            t.join()
        assert not any(t.is_alive() for t in ts)
        assert threading.active_count() == 1
        os_ident = hub._core.get_ident()
        for i, t in enumerate(ts):
            name, ident, real, daemon, green = seen[i]
            assert (name, ident, real, daemon, green) == (f"w{i}", t.ident, os_ident,
                                                          i % 2 == 1, True)
        # _thread too.
        done = threading.Event()
        ident = _thread.start_new_thread(lambda a, b=0: done.set(), (1,), {"b": 2})
        assert done.wait(10) and ident != main.ident
        print("ok")
        """
    )
    assert out == "ok\n"


def test_threads_that_end_at_once_return_to_their_starter_and_still_let_others_run():
    # A thread that ends before its start() returned ends straight into its starter (nested
    # too), and a loop of such starts still yields to the other greenlets now and then.
    out = run_ok(
        """
        import threading, time
        import hub
        time.sleep(0)  # the hub has run: starts run the thread at once
        order = []
        def inner():
            order.append("inner")
        def outer():
            t = threading.Thread(target=inner)
            t.start()
            order.append("outer started inner")
            t.join()
            order.append("outer ends")
        t = threading.Thread(target=outer)
        t.start()
        order.append("main started outer")
        t.join()
        assert order == ["inner", "outer started inner", "outer ends", "main started outer"], order
        ticks = []
        def ticker():
            while True:
                ticks.append(1)
                time.sleep(0)
        g = hub.spawn(ticker)
        for _ in range(300):
            threading.Thread(target=int).start()
        assert len(ticks) >= 2, ticks  # it ran during the loop, not only once after it
        g.kill()
        assert threading.active_count() == 1
        print("ok")
        """
    )
    assert out == "ok\n"


def test_thread_start_returns_once_the_thread_has_started_and_others_run_later():
    # Thread.start() runs the new thread at once, up to its first wait (the stdlib's start()
    # waits for it to have started); _thread.start_new_thread still only schedules it. A start
    # from the hub's first run, from a plain greenlet, and under a Timeout behave the same.
    out = run_ok(
        """
        import _thread, threading, time
        import hub
        order = []
        def body(tag, wait):
            order.append(f"{tag} runs")
            if wait:
                time.sleep(0.01)
            order.append(f"{tag} ends")
        first = threading.Thread(target=body, args=("first", True))
        first.start()  # the hub has not run yet: started the ordinary way
        order.append("started first")
        assert first.ident in [t.ident for t in threading.enumerate()]
        _thread.start_new_thread(body, ("raw", False))
        order.append("started raw")
        quick = threading.Thread(target=body, args=("quick", False))
        quick.start()
        order.append("started quick")
        blocked = threading.Event()
        waits = threading.Thread(target=blocked.wait)
        with hub.Timeout(5):
            waits.start()
        assert waits.is_alive() and waits in threading.enumerate()
        def from_greenlet():
            t = threading.Thread(target=body, args=("inner", False))
            t.start()
            order.append("started inner")
            t.join()
        hub.spawn(from_greenlet).join()
        blocked.set()
        for t in (first, quick, waits):
            t.join()
        assert not any(t.is_alive() for t in (first, quick, waits))
        assert threading.active_count() == 1, threading.enumerate()
        print(order)
        """
    )
    order = eval(out)
    assert order.index("first runs") < order.index("started first")
    assert order.index("started raw") < order.index("raw runs")
    assert order.index("quick runs") < order.index("quick ends") < order.index("started quick")
    assert order.index("inner ends") < order.index("started inner")
    assert order.count("first ends") == 1
    assert order.index("first ends") > order.index("started quick")


def test_current_thread_in_a_plain_greenlet_is_a_dummy_and_is_dropped():
    out = run_ok(
        """
        import gc, threading, hub
        def who():
            t = threading.current_thread()
            return type(t).__name__, t.daemon, t is threading.main_thread()
        print(hub.spawn(who).get())
        g = hub.spawn(threading.get_ident); ident = g.get()
        hub.spawn(lambda: threading.current_thread()).join()
        del g
        gc.collect()
        print(sum(type(t).__name__ == "_DummyThread" for t in threading.enumerate()))
        """
    )
    assert out == "('_DummyThread', True, False)\n0\n"


def test_a_thousand_threads_at_once():
    out = run_ok(
        """
        import threading, time
        start = time.monotonic()
        done = []
        ts = [threading.Thread(target=lambda i=i: (time.sleep(0.2), done.append(i)))
              for i in range(1000)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        # 1,000 sequential sleeps would take 200 s.
        assert sorted(done) == list(range(1000)) and time.monotonic() - start < 30
        assert threading.active_count() == 1
        print("ok")
        """
    )
    assert out == "ok\n"


def test_a_lock_held_across_a_sleep_lets_the_other_greenlets_run():
    # The example: two threads, ten 0.05 s sections each under one lock.
    out = run_ok(
        """
        import threading, time
        lock = threading.Lock()
        order = []
        def section(name):
            for _ in range(10):
                with lock:
                    order.append(name)
                    time.sleep(0.05)
        ts = [threading.Thread(target=section, args=(n,)) for n in "ab"]
        for t in ts: t.start()
        for t in ts: t.join(30)
        assert not any(t.is_alive() for t in ts)
        print(sorted(order) == ["a"] * 10 + ["b"] * 10)
        """
    )
    assert out == "True\n"


def test_lock_contended_by_greenlets_and_a_real_thread():
    out = run_ok(
        """
        import threading, time, monkeypatch, hub
        RealThread = monkeypatch.get_original("threading", "Thread")
        lock = threading.Lock()
        counter = [0]
        def bump(n):
            for _ in range(n):
                with lock:
                    v = counter[0]
                    time.sleep(0.001)
                    counter[0] = v + 1
        real = RealThread(target=bump, args=(30,))
        greens = [threading.Thread(target=bump, args=(30,)) for _ in range(3)]
        real.start()
        for t in greens: t.start()
        for t in greens + [real]: t.join(60)
        assert counter[0] == 120, counter
        # A real thread releases a lock a greenlet waits on (hand-over across threads).
        held = threading.Lock(); held.acquire()
        t = RealThread(target=lambda: (time.sleep(0.05), held.release())); t.start()
        assert held.acquire(timeout=30)
        t.join()
        # hub.threadpool workers stay real threads, and may take patched locks.
        def in_pool():
            with lock:
                return threading.get_native_id()
        with lock:
            r = hub.get_hub().threadpool.spawn(in_pool)
            time.sleep(0.05)
            assert not r.ready()
        assert r.get(timeout=30) != threading.main_thread().native_id
        print("ok")
        """
    )
    assert out == "ok\n"


def test_real_thread_is_an_os_thread_and_joins_cooperatively():
    out = run_ok(
        """
        import threading, time, monkeypatch, hub, hub._core
        RealThread = monkeypatch.get_original("threading", "Thread")
        assert issubclass(RealThread, threading.Thread) and RealThread is not threading.Thread
        where = []
        def work():
            where.append((hub._core.get_ident(), threading.current_thread().name))
            time.sleep(0.2)
        t = RealThread(target=work, name="real")
        ticks = []
        ticker = hub.spawn(lambda: [ticks.append(time.sleep(0.01)) for _ in range(5)])
        t.start()
        t.join()
        assert where[0][0] != hub._core.get_ident() and where[0][1] == "real"
        assert len(ticks) == 5, ticks  # the greenlet ran while the main one joined
        assert not t.is_alive()
        t2 = RealThread(target=time.sleep, args=(5,), daemon=True)
        t2.start(); t2.join(0.05); assert t2.is_alive()
        print("ok")
        """
    )
    assert out == "ok\n"


def test_lock_and_rlock_errors_and_api():
    out = run_ok(
        """
        import threading, _thread, hub
        lock = threading.Lock()
        assert isinstance(lock, _thread.LockType)
        try: lock.release()
        except RuntimeError as e: print("release:", e)
        try: lock.acquire(timeout=-2)
        except ValueError as e: print("timeout:", e)
        try: lock.acquire(False, 1)
        except ValueError as e: print("nonblocking:", e)
        try: lock.acquire(timeout=threading.TIMEOUT_MAX * 2)
        except OverflowError as e: print("overflow:", e)
        assert lock.acquire() and lock.locked() and not lock.acquire(False)
        assert not lock.acquire(timeout=0.01)
        assert "locked" in repr(lock)
        lock.release()
        assert repr(lock).startswith("<unlocked")
        r = threading.RLock()
        with r:
            with r:
                assert r._recursion_count() == 2
        try: r.release()
        except RuntimeError as e: print("rlock:", e)
        r.acquire()
        def release():
            try: r.release()
            except RuntimeError as e: return type(e).__name__
        print("other greenlet:", hub.spawn(release).get())
        got = hub.spawn(r.acquire, timeout=0.01).get()
        print("other greenlet acquires:", got)
        """
    )
    assert out.splitlines() == [
        "release: release unlocked lock",
        "timeout: timeout value must be a non-negative number",
        "nonblocking: can't specify a timeout for a non-blocking call",
        "overflow: timeout value is too large",
        "rlock: cannot release un-acquired lock",
        "other greenlet: RuntimeError",
        "other greenlet acquires: False",
    ]


def test_rlock_rules_around_its_fast_paths():
    # The uncontended acquire and release are spelled out in one frame each; these are the
    # rules they must keep: the C RLock's overflow check even when held, reentrancy with a
    # timeout, owner-only release through ``with`` too, and a real OS thread holding it.
    out = run_ok(
        """
        import threading, hub, monkeypatch
        RealThread = monkeypatch.get_original("threading", "Thread")
        r = threading.RLock()
        with r:
            try: r.acquire(timeout=threading.TIMEOUT_MAX * 2)
            except OverflowError as e: print("held, overflow:", e)
            assert r.acquire(True, 5) and r._recursion_count() == 2
            r.release()
            def exit_other():
                try: r.__exit__(None, None, None)
                except RuntimeError as e: return str(e)
            print("other greenlet exits:", hub.spawn(exit_other).get())
        assert not r.locked() and r._recursion_count() == 0
        held, go = threading.Event(), threading.Event()
        def hold():
            with r:
                held.set()
                go.wait(30)
        t = RealThread(target=hold); t.start()
        held.wait(30)
        print("blocked:", r.acquire(timeout=0.01))
        go.set()
        print("after the thread's release:", r.acquire(timeout=30), r._recursion_count())
        r.release()
        t.join()
        """
    )
    assert out.splitlines() == [
        "held, overflow: timeout value is too large",
        "other greenlet exits: cannot release un-acquired lock",
        "blocked: False",
        "after the thread's release: True 1",
    ]


def test_condition_wait_notify_with_timeouts():
    out = run_ok(
        """
        import threading, time
        cond = threading.Condition()
        items = []
        results = []
        def consumer(timeout):
            with cond:
                results.append(list(cond.wait_for(lambda: items, timeout)))
        ts = [threading.Thread(target=consumer, args=(t,)) for t in (0.05, 30, 30)]
        for t in ts: t.start()
        time.sleep(0.2)  # the first consumer's wait times out meanwhile
        with cond:
            items.append(1)
            cond.notify_all()
        for t in ts: t.join()
        print(results)
        with cond:
            print(cond.wait(0.01))
        try: cond.notify()
        except RuntimeError as e: print(e)
        """
    )
    assert out.splitlines() == ["[[], [1], [1]]", "False", "cannot notify on un-acquired lock"]


def test_condition_over_a_plain_lock():
    # queue.Queue's and Event's case: Condition binds the patched lock's own _is_owned,
    # _release_save and _acquire_restore instead of its fallbacks; the errors, timeouts and a
    # notification from a real OS thread behave as with the stdlib's lock.
    out = run_ok(
        """
        import threading, time, monkeypatch
        cond = threading.Condition(threading.Lock())
        for call in (cond.wait, cond.notify):
            try: call()
            except RuntimeError as e: print(e)
        with cond:
            print(cond.wait(0.01), cond._lock.locked())
        print(cond._lock.locked())
        def notifier():
            time.sleep(0.05)
            with cond:
                cond.notify()
        real = monkeypatch.get_original("threading", "Thread")(target=notifier)
        with cond:
            real.start()
            print(cond.wait(30))
        real.join()
        """
    )
    assert out.splitlines() == [
        "cannot wait on un-acquired lock",
        "cannot notify on un-acquired lock",
        "False True",
        "False",
        "True",
    ]


def test_condition_and_event_waits_killed_or_switched_into_leave_cleanly():
    # Condition.wait and Event.wait spell out the patched Lock's steps and the hub's suspend
    # (no timeout): a wait ended by kill() takes the lock back (Condition) and leaves the wait
    # queue, a direct switch into a waiting greenlet is InvalidSwitchError, and the next
    # notification reaches the next waiter.
    out = run_ok(
        """
        import threading, hub
        cond = threading.Condition(threading.Lock())
        def waiter(name):
            with cond:
                print(name, cond.wait())
        a, b = hub.spawn(waiter, "a"), hub.spawn(waiter, "b")
        hub.sleep(0)
        print(len(cond._waiters), cond._lock.locked())
        a.kill()
        print(len(cond._waiters), cond._lock.locked(), a.dead)
        with cond:
            cond.notify()
        b.join()
        ev = threading.Event()
        def ev_waiter():
            try:
                ev.wait()
            except hub.InvalidSwitchError:
                print("invalid switch")
        c, d = hub.spawn(ev_waiter), hub.spawn(ev.wait)
        hub.sleep(0)
        hub.spawn(c.switch)  # not through the hub: c's wait ends with the error
        hub.sleep(0)
        d.kill()
        print(len(ev._cond._waiters), ev._cond._lock.locked(), c.dead, d.dead)
        ev.set()
        print(ev.wait())
        """
    )
    assert out.splitlines() == [
        "2 False",
        "1 False True",
        "b True",
        "invalid switch",
        "0 False True True",
        "True",
    ]


def test_condition_and_event_stay_the_stdlib_classes_with_their_attributes():
    # wait/notify and Event.wait/set are set on the stdlib's own classes: the classes, their
    # attributes and the FIFO order of notify(n) stay as the stdlib's; an Event and a Condition
    # made before patching (on real locks) wait cooperatively too.
    out = run_ok(
        """
        import threading, time
        early_event = threading.Event()
        early_cond = threading.Condition(threading.Lock())
        import monkeypatch
        monkeypatch.patch_all()
        print(type(early_event) is threading.Event, type(early_event._cond) is threading.Condition)
        cond = threading.Condition()
        order = []
        def waiter(i):
            with cond:
                order.append((i, cond.wait(30)))
        ts = [threading.Thread(target=waiter, args=(i,)) for i in range(4)]
        for t in ts: t.start()
        time.sleep(0.05)
        with cond:
            print(len(cond._waiters))
            cond.notify(2)
        time.sleep(0.05)
        print(order)
        with cond:
            cond.notify_all()
        for t in ts: t.join()
        print(sorted(order)[2:], len(cond._waiters))
        with cond:
            try: cond.wait(threading.TIMEOUT_MAX * 2)
            except OverflowError as e: print("OverflowError", cond._lock._is_owned())
        ticks = []
        def ticker():
            for _ in range(3):
                ticks.append(1)
                time.sleep(0.01)
        threading.Thread(target=ticker).start()
        print(early_event.wait(0.1), len(ticks) == 3)
        threading.Timer(0.05, early_event.set).start()
        print(early_event.wait(30), early_event.is_set(), early_event._flag)
        with early_cond:
            print(early_cond.wait(0.01))
        """,
        prelude="",
    )
    assert out.splitlines() == [
        "True True",
        "4",
        "[(0, True), (1, True)]",
        "[(2, True), (3, True)] 0",
        "OverflowError True",
        "False True",
        "True True True",
        "False",
    ]


def test_event_semaphore_barrier_and_timer():
    out = run_ok(
        """
        import threading, time
        ev = threading.Event()
        threading.Timer(0.05, ev.set).start()
        print(ev.wait(30), ev.is_set())
        print(threading.Event().wait(0.01))
        sem = threading.BoundedSemaphore(2)
        sem.acquire(); sem.acquire()
        print(sem.acquire(timeout=0.01))
        sem.release(); sem.release()
        try: sem.release()
        except ValueError as e: print(e)
        barrier = threading.Barrier(3, timeout=0.1)
        errors = []
        def party():
            try: barrier.wait()
            except threading.BrokenBarrierError: errors.append("broken")
        ts = [threading.Thread(target=party) for _ in range(2)]  # one party short
        for t in ts: t.start()
        for t in ts: t.join()
        print(errors, barrier.broken)
        cancelled = threading.Timer(0.05, print, args=("never",))
        cancelled.start(); cancelled.cancel(); cancelled.join()
        print("done")
        """
    )
    assert out.splitlines() == [
        "True True",
        "False",
        "False",
        "Semaphore released too many times",
        "['broken', 'broken'] True",
        "done",
    ]


def test_queue_hand_over_with_maxsize_1_keeps_the_stdlib_class():
    out = run_ok(
        """
        import queue, threading, sys
        q = queue.Queue(maxsize=1)
        print(type(q) is queue.Queue, type(q.mutex).__name__, type(q.not_empty).__name__,
              type(q.not_full).__name__, type(q.all_tasks_done).__name__, type(q.queue).__name__)
        got = []
        def consumer():
            while (item := q.get()) is not None:
                got.append(item)
                q.task_done()
            q.task_done()
        t = threading.Thread(target=consumer); t.start()
        for i in range(100):
            q.put(i)
        q.put(None)
        q.join()
        print(got == list(range(100)), q.unfinished_tasks)
        try: q.get(timeout=0.01)
        except queue.Empty: print("empty")
        q.put(1)
        try: q.put(2, timeout=0.01)
        except queue.Full: print("full")
        for cls in (queue.LifoQueue, queue.PriorityQueue):
            p = cls(); [p.put(x) for x in (2, 1, 3)]
            print(cls.__name__, [p.get() for _ in range(3)])
        if sys.version_info >= (3, 13):
            s = queue.Queue(); s.put(1)
            waiter = threading.Thread(target=lambda: None); waiter.start(); waiter.join()
            s.shutdown()
            print(s.get())
            try: s.get()
            except queue.ShutDown: print("shutdown")
        else:
            print(1); print("shutdown")
        sq = queue.SimpleQueue()
        t = threading.Thread(target=lambda: sq.put("x")); t.start()
        print(sq.get(timeout=30), sq.empty(), sq.qsize())
        try: sq.get(timeout=0.01)
        except queue.Empty: print("simple empty")
        """
    )
    assert out.splitlines() == [
        "True lock Condition Condition Condition deque",
        "True 0",
        "empty",
        "full",
        "LifoQueue [3, 1, 2]",
        "PriorityQueue [1, 2, 3]",
        "1",
        "shutdown",
        "x True 0",
        "simple empty",
    ]


def test_thread_locals_per_greenlet_under_100_greenlets():
    out = run_ok(
        """
        import threading, _threading_local, contextvars, time, hub
        data = threading.local()
        pydata = _threading_local.local()
        var = contextvars.ContextVar("var", default=None)
        wrong = []
        def request(i):
            data.value = pydata.value = i
            var.set(i)
            time.sleep(0.01)
            if (data.value, pydata.value, var.get()) != (i, i, i):
                wrong.append(i)
        ts = [threading.Thread(target=request, args=(i,)) for i in range(50)]
        gs = [hub.spawn(request, i) for i in range(50, 100)]
        for t in ts: t.start()
        for t in ts: t.join()
        hub.joinall(gs)
        print(wrong, hasattr(data, "value"), var.get())
        """
    )
    assert out == "[] False None\n"


def test_exit_waits_for_non_daemon_threads_only():
    result = run(
        """
        import threading, time, sys
        def worker(name, seconds):
            time.sleep(seconds)
            print(name, "done", flush=True)
        threading.Thread(target=worker, args=("non-daemon", 0.2)).start()
        threading.Thread(target=worker, args=("daemon", 30), daemon=True).start()
        import _thread
        _thread.start_new_thread(worker, ("raw", 30))  # _thread's threads are daemons
        print("main done", flush=True)
        """,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["main done", "non-daemon done"]
    assert result.stderr == ""


def test_excepthook_and_unraisable_hook():
    out = run_ok(
        """
        import threading, _thread, sys, time
        seen = []
        threading.excepthook = lambda args: seen.append(
            (args.exc_type.__name__, str(args.exc_value), args.thread.name))
        def boom(): raise ValueError("bad")
        t = threading.Thread(target=boom, name="t1"); t.start(); t.join()
        t = threading.Thread(target=sys.exit, name="t2"); t.start(); t.join()
        sys.unraisablehook = lambda u: seen.append((u.exc_type.__name__, u.err_msg.split(" <")[0]))
        done = threading.Event()
        def raw():
            done.set()
            raise KeyError("k")
        _thread.start_new_thread(raw, ())
        done.wait(); time.sleep(0.01)
        print(seen)
        """
    )
    assert out == (
        "[('ValueError', 'bad', 't1'), ('SystemExit', '', 't2'), "
        "('KeyError', 'Exception ignored in thread started by')]\n"
    )


def test_default_excepthook_prints_to_stderr():
    result = run(
        """
        import threading
        t = threading.Thread(target=lambda: 1 / 0, name="failing"); t.start(); t.join()
        print("still running")
        """
    )
    assert result.returncode == 0 and result.stdout == "still running\n"
    assert "Exception in thread failing" in result.stderr
    assert "ZeroDivisionError" in result.stderr


def test_thread_pool_executor_runs_work_items_as_greenlets():
    out = run_ok(
        """
        import concurrent.futures, threading, time, hub._core
        me = hub._core.get_ident()
        def job(i):
            time.sleep(0.1)
            return i, hub._core.get_ident() == me
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as ex:
            results = list(ex.map(job, range(40)))
        # Serially: 4 s; 20 green workers: ~0.2 s.
        print(all(same for _, same in results), [i for i, _ in results] == list(range(40)),
              time.monotonic() - start < 3.5)
        """
    )
    assert out == "True True True\n"


def test_asyncio_to_thread_and_run_in_executor_never_hang():
    out = run_ok(
        """
        import asyncio, time, threading
        def blocking(x):
            time.sleep(0.05)
            return x * 2
        async def main():
            loop = asyncio.get_running_loop()
            a = await asyncio.to_thread(blocking, 1)
            b = await loop.run_in_executor(None, blocking, 2)
            c = await asyncio.gather(*(asyncio.to_thread(blocking, i) for i in range(10)))
            return a, b, c
        print(asyncio.run(main()))
        """,
        timeout=30,
    )
    assert out == "(2, 4, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])\n"


def test_thread_pool_and_dns_still_use_real_threads():
    out = run_ok(
        """
        import socket, threading, hub, hub._core
        main = hub._core.get_ident()
        r = hub.get_hub().threadpool.spawn(hub._core.get_ident)
        print(r.get(timeout=30) != main)
        print(socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)[0][4][1])
        """
    )
    assert out == "True\n80\n"


def test_patch_all_thread_false_leaves_threading_alone():
    out = run_ok(
        """
        import threading, _thread, queue, monkeypatch
        print(type(threading.Lock()).__module__ == "_thread",
              monkeypatch.is_module_patched("_thread"),
              queue.SimpleQueue is monkeypatch.get_original("queue", "SimpleQueue"),
              monkeypatch.get_original("threading", "Thread") is threading.Thread)
        """,
        prelude="import monkeypatch\nmonkeypatch.patch_all(thread=False, queue=False)\n",
    )
    assert out == "True False True True\n"


def test_get_original_for_every_name():
    out = run_ok(
        """
        import importlib, _thread, threading, monkeypatch
        from monkeypatch._table import TABLE
        missing = []
        for row in TABLE:
            if row.option not in ("thread", "queue"):
                continue
            for name in row.names:
                if monkeypatch.is_object_patched(row.module, name):
                    original = monkeypatch.get_original(row.module, name)
                    if getattr(original, "__module__", "").startswith("hub"):
                        missing.append((row.module, name))
        print(missing)
        lock = monkeypatch.get_original("_thread", "allocate_lock")()
        print(type(lock).__module__, monkeypatch.get_original("threading", "Lock") is lock.__class__
              or True)
        """
    )
    assert out.splitlines()[0] == "[]"


@pytest.mark.parametrize("flag", ["--no-thread", "--no-queue"])
def test_command_line_options(tmp_path, flag):
    script = tmp_path / "prog.py"
    script.write_text(
        "import threading, queue, monkeypatch\n"
        "print(monkeypatch.is_module_patched('threading'), "
        "monkeypatch.is_module_patched('queue'))\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "monkeypatch", flag, str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = "False True" if flag == "--no-thread" else "True False"
    assert result.stdout == expected + "\n"


LATE = """
import asyncio, logging, concurrent.futures.thread, tempfile, threading, time, warnings
try:
    import requests
except ImportError:
    requests = None
from threading import Lock as EarlyLock, RLock as EarlyRLock
handler = logging.StreamHandler()
logging.getLogger("late").addHandler(handler)
early_lock = threading.Lock()
stop = threading.Event()
early_thread = threading.Thread(target=stop.wait, name="early", daemon=True)
early_thread.start()
unstarted = threading.Thread(target=lambda: print("unstarted ran"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import monkeypatch
    monkeypatch.patch_all()
"""


def test_late_patching_after_logging_concurrent_futures_and_requests():
    out = run_ok(
        """
        import _thread, hub._thread
        messages = [str(w.message) for w in caught]
        def named(what):
            return any(m.startswith(what) for m in messages)
        # The stdlib's own module locks guard sections that never wait: not named.
        print(named("__main__.early_lock"), named("<Thread(early"),
              not named("concurrent.futures.thread._global_shutdown_lock"),
              not any("asyncio" in m or "tempfile" in m for m in messages))
        # Module globals holding the original lock factories are rebound.
        assert EarlyLock is threading.Lock and type(EarlyLock()) is _thread.LockType
        assert EarlyRLock is threading.RLock
        real_rlock = monkeypatch.get_original("_thread", "RLock")
        print(type(logging._lock) is _thread.RLock is not real_rlock,
              type(handler.lock) is _thread.RLock)
        # A handler lock held across a cooperative wait no longer blocks the thread.
        class Slow(logging.Handler):
            def emit(self, record):
                time.sleep(0.05)
        logger = logging.getLogger("slow"); logger.addHandler(Slow()); logger.propagate = False
        start = time.monotonic()
        ts = [threading.Thread(target=logger.warning, args=("x",)) for _ in range(5)]
        ticks = []
        for t in ts: t.start()
        ticker = threading.Thread(target=lambda: [ticks.append(time.sleep(0.01)) for _ in range(3)])
        ticker.start()
        for t in ts + [ticker]: t.join()
        print(len(ticks))
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            print(sum(ex.map(lambda x: x * 2, range(10))))
        print(requests is None or requests.Session is not None)
        unstarted.start(); unstarted.join()
        stop.set()
        """,
        prelude=LATE,
    )
    assert out.splitlines() == [
        "True True True True",
        "True True",
        "3",
        "90",
        "True",
        "unstarted ran",
    ]


def test_patch_thread_from_a_non_main_thread_warns():
    out = run_ok(
        """
        import threading, warnings, monkeypatch
        caught = []
        def patch():
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                monkeypatch.patch_thread()
            caught.extend(str(x.message) for x in w)
        t = threading.Thread(target=patch); t.start(); t.join()
        print(any("other than the main one" in m for m in caught))
        """,
        prelude="",
    )
    assert out == "True\n"


def test_keyboard_interrupt_while_a_green_lock_waits_reaches_the_main_greenlet():
    out = run_ok(
        """
        import signal, threading, time
        lock = threading.Lock(); lock.acquire()
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        signal.signal(signal.SIGALRM, signal.default_int_handler)
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        try:
            lock.acquire()
        except KeyboardInterrupt:
            print("main greenlet")
        """
    )
    assert out == "main greenlet\n"


def test_settrace_and_setprofile_reach_new_threads():
    out = run_ok(
        """
        import sys, threading
        traced, profiled = set(), set()
        def tracer(frame, event, arg):
            if frame.f_code.co_name == "work":
                traced.add(event)
            return None
        def profiler(frame, event, arg):
            if frame.f_code.co_name == "work":
                profiled.add(event)
        def work():
            return 1
        threading.settrace(tracer)
        threading.setprofile(profiler)
        t = threading.Thread(target=work); t.start(); t.join()
        sys.settrace(None); sys.setprofile(None)
        threading.settrace(None); threading.setprofile(None)
        print("call" in traced, "call" in profiled)
        """
    )
    assert out == "True True\n"


def test_interrupt_main_from_a_green_thread_reaches_the_main_greenlet():
    out = run_ok(
        """
        import signal, threading, _thread, time
        # A job started in the background inherits SIGINT ignored, and Python then leaves it
        # ignored (interrupt_main does nothing): install the default handler, as a terminal has.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        t = threading.Thread(target=_thread.interrupt_main)
        try:
            t.start()
            t.join()
        except KeyboardInterrupt:
            print("main greenlet")
        """
    )
    assert out == "main greenlet\n"


def test_interrupt_main_runs_a_python_handler_in_the_main_greenlet():
    out = run_ok(
        """
        import signal, _thread
        def handler(signum, frame):
            calls.append(signum)
            1 / 0
        for signum in (signal.SIGINT, signal.SIGTERM):
            calls = []
            old = signal.signal(signum, handler)
            try:
                _thread.interrupt_main(signum)
            except ZeroDivisionError:
                print("raised", calls == [signum])
            finally:
                signal.signal(signum, old)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _thread.interrupt_main(signal.SIGTERM)  # ignored: nothing happens
        try:
            _thread.interrupt_main(-1)
        except ValueError:
            print("ValueError")
        """
    )
    assert out == "raised True\nraised True\nValueError\n"


def test_set_async_exc_reaches_green_threads_and_the_main_greenlet():
    out = run_ok(
        """
        import ctypes, threading, time
        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
        set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
        class Stop(Exception):
            pass
        # The caller itself: raised at its next bytecode, as by the C function.
        try:
            set_async_exc(threading.get_ident(), ctypes.py_object(Stop))
            while True:
                pass
        except Stop:
            print("self")
        # A green thread waiting in time.sleep: the exception ends its wait.
        caught = []
        def sleeper():
            try:
                time.sleep(30)
            except Stop:
                caught.append(threading.current_thread().name)
        t = threading.Thread(target=sleeper, name="sleeper"); t.start()
        time.sleep(0.01)
        print(set_async_exc(-1, ctypes.py_object(Stop)), set_async_exc(t.ident, Stop))
        t.join(5); print(caught)
        # Set, then cleared with NULL before the thread ran: nothing is raised.
        t = threading.Thread(target=sleeper, name="spared", daemon=True); t.start()
        time.sleep(0.01)
        set_async_exc(t.ident, Stop); print(set_async_exc(t.ident, ctypes.py_object()))
        t.join(0.05); print(t.is_alive(), caught)
        # From a green thread, the main thread's ident names the main greenlet.
        main = threading.get_ident()
        threading.Thread(target=set_async_exc, args=(main, Stop)).start()
        try:
            time.sleep(30)
        except Stop:
            print("main greenlet")
        """
    )
    assert out == "self\n0 1\n['sleeper']\n1\nTrue ['sleeper']\nmain greenlet\n"


def test_real_thread_start_waits_for_the_thread_without_polling():
    out = run_ok(
        """
        import sys, time, hub, monkeypatch
        RealThread = monkeypatch.get_original("threading", "Thread")
        seen = []
        def observe():  # runs while the main greenlet waits in start()
            stats = hub.get_hub().statistics()
            seen.append((t.is_alive(), stats.keepalive, stats.pending_timers))
        # The new OS thread needs the GIL before it can say it started; with a long switch
        # interval this thread gives the GIL up only when its hub blocks, so start() waits.
        sys.setswitchinterval(10)
        t = RealThread(target=time.sleep, args=(0.01,))
        hub.spawn(observe)
        t.start()
        sys.setswitchinterval(0.005)
        t.join()
        # No timer to poll with: the hub knows a wake-up is coming (keep_alive) and sleeps.
        print(seen)
        """
    )
    assert out == "[(False, 1, ())]\n"


def test_ctrl_c_while_a_green_thread_spins_reaches_the_main_greenlet():
    # SIGINT's default handler as a terminal gives it (a background job inherits it ignored),
    # installed before patch_all(), which then routes it.
    prelude = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n" + PRELUDE
    out = run_ok(
        """
        import os, signal, threading, time, monkeypatch
        flag, done = [False], []
        def spin():  # never waits: the signal's handler runs here
            while not flag[0]:
                pass
            done.append(threading.current_thread().name)
        RealThread = monkeypatch.get_original("threading", "Thread")
        def ctrl_c():
            time.sleep(0.1)
            os.kill(os.getpid(), signal.SIGINT)
        try:
            RealThread(target=ctrl_c, daemon=True).start()
            threading.Thread(target=spin, name="spinner").start()
            time.sleep(30)
        except KeyboardInterrupt:
            print("main greenlet")
        flag[0] = True
        time.sleep(0.01)  # the spinner goes on where it was interrupted, and ends
        print(done, signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        """,
        prelude=prelude,
    )
    assert out == "main greenlet\n['spinner'] True\n"


def test_condition_and_event_subclasses_overriding_before_patching_are_not_reported_stale():
    # The stdlib's Condition.wait/notify and Event.wait/set are cooperative on the patched locks
    # (ours are only faster), so subclasses defined before patch_all() that override them warn
    # about nothing (-W error), and they work.
    out = run_ok(
        """
        import threading, time
        class MyEvent(threading.Event):
            def wait(self, timeout=None):
                return super().wait(timeout)
            def set(self):
                super().set()
        class MyCondition(threading.Condition):
            def wait(self, timeout=None):
                return super().wait(timeout)
            def notify(self, n=1):
                super().notify(n)
        import monkeypatch
        monkeypatch.patch_all()
        ev, cond, seen = MyEvent(), MyCondition(), []
        def waiter():
            with cond:
                seen.append(cond.wait(60))
            seen.append(ev.wait(60))
        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.01)
        with cond:
            cond.notify()
        time.sleep(0.01)
        ev.set()
        t.join()
        print(seen)
        """,
        prelude="",
    )
    assert out.splitlines() == ["[True, True]"]
