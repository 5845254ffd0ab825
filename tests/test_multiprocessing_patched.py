"""multiprocessing under the full patch_all() (threads patched too), each test in a fresh
interpreter: the start methods, Pool from greenlets, Queue, Lock and Connection waits that leave
the hub running (hub/_multiprocessing.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_subprocess_patched import run_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_start_methods_process_queue_and_pool(method):
    run_script(
        f"""
        import multiprocessing as mp

        def work(q, n):
            time.sleep(0.3)
            q.put(n * n)

        def square(n):
            return n * n

        if __name__ == "__main__":
            ctx = mp.get_context({method!r})
            q = ctx.Queue()
            p = ctx.Process(target=work, args=(q, 7))
            p.start()
            g, ticks = ticking(0.25)
            joiner = hub.spawn(p.join)
            getter = hub.spawn(q.get)  # no timeout: the semaphore and the pipe read wait on the hub
            hub.joinall([joiner, getter], raise_error=True, timeout=60)
            assert p.exitcode == 0 and getter.value == 49, (p.exitcode, getter.value)
            # The hub kept running while greenlets joined the process and read the queue.
            assert len(ticks) >= 4, len(ticks)
            g.join()
            with ctx.Pool(2) as pool:
                assert pool.map(square, range(20)) == [n * n for n in range(20)]
                assert pool.apply_async(square, (9,)).get(timeout=30) == 81
                assert list(pool.imap(square, range(5))) == [0, 1, 4, 9, 16]
                # Ten greenlets use the pool at once, and the hub keeps ticking meanwhile.
                # (0.6 s: a machine loaded as CI's parallel tox runs load it may not run this
                # process for a tenth of a second or two; with 0.2 s, py310 once got 1 tick.)
                g, ticks = ticking(0.6, step=0.01)
                jobs = [hub.spawn(pool.map, square, range(i, i + 8)) for i in range(10)]
                hub.joinall(jobs, raise_error=True, timeout=60)
                for i, job in enumerate(jobs):
                    assert job.value == [n * n for n in range(i, i + 8)], (i, job.value)
                g.join()
                assert len(ticks) >= 3, len(ticks)
            print("ok")
        """,
        timeout=120,
    )


def test_queue_lock_and_pipe_waits_leave_the_hub_running():
    run_script(
        """
        import multiprocessing as mp
        import queue

        def producer(q):
            time.sleep(0.3)
            for i in range(3):
                q.put(i)

        def holder(lock, rlock, held):
            with lock, rlock:
                held.set()
                time.sleep(0.3)

        def sender(conn):
            conn.send_bytes(b"x" * 1_000_000)
            assert conn.recv_bytes() == b"y" * 1_000_000
            conn.close()

        if __name__ == "__main__":
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            p = ctx.Process(target=producer, args=(q,))
            p.start()
            g, ticks = ticking(0.25)
            assert [q.get() for _ in range(3)] == [0, 1, 2]
            assert len(ticks) >= 4, len(ticks)
            g.join()
            p.join()
            start = time.monotonic()
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                assert time.monotonic() - start >= 0.09
            else:
                raise AssertionError("got from an empty queue")

            # Locks held by another process: the waits suspend the greenlet only, time out as
            # the stdlib's do, and a lock taken after a wait is owned by the thread that took it.
            lock, rlock, held = ctx.Lock(), ctx.RLock(), ctx.Event()
            p = ctx.Process(target=holder, args=(lock, rlock, held))
            p.start()
            assert held.wait(30)
            assert not lock.acquire(timeout=0.05)
            assert not lock.acquire(False)
            g, ticks = ticking(0.2)
            assert rlock.acquire()
            assert rlock.acquire(timeout=0)  # reentrant for its owner
            rlock.release()
            rlock.release()
            with lock:
                pass
            assert len(ticks) >= 3, len(ticks)
            g.join()
            p.join()

            # A megabyte each way through a pipe (many partial reads and writes), then EOF.
            mine, theirs = ctx.Pipe()
            p = ctx.Process(target=sender, args=(theirs,))
            p.start()
            theirs.close()
            g, ticks = ticking(0.1)
            assert mine.recv_bytes() == b"x" * 1_000_000
            mine.send_bytes(b"y" * 1_000_000)
            try:
                mine.recv()
            except EOFError:
                pass
            else:
                raise AssertionError("no EOFError after the other end closed")
            p.join()
            assert p.exitcode == 0, p.exitcode
            g.join()
            print("ok")
        """,
    )


def test_the_selectors_patch_survives_the_multiprocessing_rows():
    # multiprocessing.connection._WaitSelector's row replaces what the select row installed;
    # late patching must not then rebind selectors.PollSelector to that later replacement.
    code = (
        "import monkeypatch; monkeypatch.patch_all()\n"
        "import selectors, hub.selectors, multiprocessing.connection as c\n"
        "assert selectors.PollSelector is hub.selectors.PollSelector, selectors.PollSelector\n"
        "assert c._WaitSelector.__module__ == 'hub._multiprocessing'\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"
