"""A fork child under patch_thread() has only the forking thread, as with real threads.

Every test forks in a fresh interpreter (``run_ok``) and prints what it asserts on. The child
reports through a pipe (or its exit status) and always ends with ``os._exit`` unless the test is
about how it ends; the parent reaps it, so no test leaves a zombie.
"""

from __future__ import annotations

import textwrap

from test_threading_patched import run_ok

# What the child programs share: a pipe to report through, and a parent that reaps the child.
HELPERS = """
import os, sys, threading, time, traceback
import hub

def in_child(check):
    # Run check() in the child; its printed result comes back to the parent through a pipe.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = repr(check())
        except BaseException:
            out = "error: " + traceback.format_exc()
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status
    return b"".join(chunks).decode()
"""


def child_run(code: str) -> str:
    return run_ok(HELPERS + textwrap.dedent(code))


def test_threads_waiting_on_everything_stay_stopped_in_the_child():
    out = child_run(
        """
        import socket
        lock = threading.Lock(); lock.acquire()
        event = threading.Event()
        cond = threading.Condition()
        a, b = socket.socketpair()
        ran = []          # what the threads did after the fork, in either process
        started = threading.Barrier(6)

        def on(name, wait):
            def body():
                started.wait()
                try:
                    wait()
                    ran.append(name)
                finally:
                    ran.append(name + " finally")
            return body

        def with_cond():
            with cond:
                cond.wait()

        waits = {
            "sleeper": lambda: time.sleep(0.3),
            "locker": lambda: lock.acquire(),
            "evented": lambda: event.wait(),
            "conditioned": with_cond,
            "reader": lambda: a.recv(1),
        }
        ts = [threading.Thread(target=on(n, f), name=n, daemon=True) for n, f in waits.items()]
        for t in ts:
            t.start()
        started.wait()
        time.sleep(0.05)  # every thread waits now
        # One more thread that is started, but has not run yet: in the ready queue
        # (threading.Thread.start() would wait until it runs).
        import _thread
        _thread.start_new_thread(ran.append, ("late",))

        def check():
            # Wake every wait the parent's threads are in: nothing of theirs may run here.
            lock.release()
            event.set()
            with cond:
                cond.notify_all()
            b.send(b"x")
            time.sleep(0.5)  # past the sleeper's timer
            # The lock the locker waited for is free, not handed to a thread that is gone.
            got = lock.acquire(timeout=1)
            # The child's own threads work.
            mine = []
            t = threading.Thread(target=lambda: (time.sleep(0.01), mine.append(1)))
            t.start(); t.join()
            alive = [t.is_alive() for t in ts]
            for t in ts:
                t.join()  # returns: they are stopped here
            return (ran, got, mine, alive, threading.active_count(),
                    threading.enumerate() == [threading.main_thread()])

        print(in_child(check))
        # The parent's threads go on (the child's byte and the sleeper's timer may have
        # ended two of the waits already), and end as usual.
        lock.release(); event.set()
        with cond:
            cond.notify_all()
        b.send(b"x")
        for t in ts:
            t.join(5)
        print(sorted(ran), threading.active_count())
        a.close(); b.close()
        """
    )
    child, after = out.splitlines()
    assert child == "([], True, [1], [False, False, False, False, False], 1, True)"
    names = ["conditioned", "evented", "locker", "reader", "sleeper"]
    assert after == repr(sorted(["late", *names, *(n + " finally" for n in names)])) + " 1"


def test_fork_from_a_green_thread_leaves_only_that_thread():
    out = child_run(
        """
        other_ran = []
        def other():
            while True:
                time.sleep(0.001)
                other_ran.append(1)
        threading.Thread(target=other, daemon=True).start()
        time.sleep(0.01)
        result = []

        def forker():
            me = threading.current_thread()
            def check():
                n = len(other_ran)
                time.sleep(0.05)
                return (len(other_ran) == n, threading.main_thread() is me,
                        threading.active_count(), threading.current_thread().name)
            result.append(in_child(check))

        t = threading.Thread(target=forker, name="forker")
        t.start()
        t.join()
        print(result[0])
        """
    )
    assert out == "(True, True, 1, 'forker')\n"


def test_plain_greenlets_keep_running_in_the_child():
    out = child_run(
        """
        ticks = []
        def ticker():
            while True:
                hub.sleep(0.005)
                ticks.append(1)
        hub.spawn(ticker)
        threading.Thread(target=lambda: time.sleep(10), daemon=True).start()
        time.sleep(0.02)

        def check():
            n = len(ticks)
            time.sleep(0.1)
            return len(ticks) > n
        print(in_child(check))
        """
    )
    assert out == "True\n"


def test_a_child_forked_in_a_green_thread_exits_0_once_its_threads_are_done():
    # The main greenlet is one of the threads gone in the child: when the forking thread (and
    # the thread it started there) have ended, the child exits, flushing stdout but running no
    # atexit callback and not the main greenlet's code after join().
    out = child_run(
        """
        import atexit
        atexit.register(lambda: print("atexit", os.getpid() == parent, flush=True))
        parent = os.getpid()
        pids = []

        def forker():
            pid = os.fork()
            if pid:
                pids.append(pid)
                return
            t = threading.Thread(target=lambda: (time.sleep(0.05), print("child thread")))
            t.start()
            print("child forker ends")

        t = threading.Thread(target=forker)
        t.start()
        t.join()
        _, status = os.waitpid(pids[0], 0)
        print("child status", os.waitstatus_to_exitcode(status), flush=True)
        print("main", os.getpid() == parent, flush=True)
        """
    )
    assert out == "child forker ends\nchild thread\nchild status 0\nmain True\natexit True\n"


def test_a_deadlock_in_the_forking_thread_is_reported_to_it():
    # A lock held by a thread that is gone stays held (as with real threads); the child's
    # hub reports the wait nobody can end to the forking thread, the child's main thread.
    out = child_run(
        """
        lock = threading.Lock()
        holding = threading.Event()
        def holder():
            with lock:
                holding.set()
                time.sleep(10)
        threading.Thread(target=holder, daemon=True).start()
        holding.wait()
        result = []

        def forker():
            def check():
                try:
                    lock.acquire()
                except hub.LoopExit as exc:
                    return "LoopExit" if "acquire" in str(exc) else str(exc)
                return "acquired"
            result.append(in_child(check))

        t = threading.Thread(target=forker)
        t.start()
        t.join()
        print(result[0])
        """
    )
    assert out == "'LoopExit'\n"


def test_fork_from_the_main_greenlet_keeps_the_main_thread_and_leaks_nothing():
    out = child_run(
        """
        def fds():
            return sorted(os.listdir("/proc/self/fd"))
        gate = threading.Event()
        ts = [threading.Thread(target=gate.wait, daemon=True) for _ in range(3)]
        for t in ts:
            t.start()
        before = fds()
        for _ in range(3):
            print(in_child(lambda: (threading.current_thread() is threading.main_thread(),
                                    threading.active_count())))
        gate.set()
        for t in ts:
            t.join()
        assert fds() == before, (before, fds())
        # No child left unreaped.
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            print("no children")
        """
    )
    assert out == "(True, 1)\n(True, 1)\n(True, 1)\nno children\n"


def test_fork_from_a_plain_greenlet_makes_it_the_child_main_thread():
    # threading counts a plain greenlet as a thread of its own under patch_thread(): the main
    # greenlet's code after the fork does not run in the child.
    out = child_run(
        """
        def forker():
            return in_child(lambda: (threading.current_thread() is threading.main_thread(),
                                     threading.active_count()))
        g = hub.spawn(forker)
        print(g.get())
        """
    )
    assert out == "(True, 1)\n"


def test_fork_waits_for_a_green_thread_holding_the_import_lock():
    out = child_run(
        """
        import _imp
        steps = []
        def importer():
            _imp.acquire_lock()
            try:
                steps.append("holding")
                time.sleep(0.05)
                steps.append("releasing")
            finally:
                _imp.release_lock()
        t = threading.Thread(target=importer)
        t.start()
        while not steps:
            time.sleep(0.001)
        print(in_child(lambda: (list(steps), _imp.lock_held())))
        t.join()
        """
    )
    assert out == "(['holding', 'releasing'], False)\n"
