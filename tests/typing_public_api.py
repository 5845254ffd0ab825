"""Checked by mypy (``make lint``), never run: what users' type checkers see of the public API.

Each ``ok`` line must type-check. Each line ending in ``# type: ignore[...]`` must be an error;
with ``warn_unused_ignores`` a signature that decays to ``Any`` makes that ignore unused, and so
fails the check: these are the tests that the types say something.
"""

from __future__ import annotations

import concurrent.futures

import hub
from hub.pool import Pool
from hub.queue import Queue
from hub.threadpool import ThreadPoolExecutor


def _one() -> int:
    return 1


def greenlets() -> None:
    g: hub.Greenlet[int] = hub.spawn(_one)
    ok: int = g.get()
    bad: str = g.get()  # type: ignore[assignment]
    later: hub.Greenlet[int] = hub.spawn_later(1, _one)
    cls: hub.Greenlet[int] = hub.Greenlet.spawn(_one)
    done: list[hub.Greenlet[int]] = hub.joinall([g, later, cls])
    first = next(hub.iwait([g]))
    wrong: str = first.get()  # type: ignore[assignment]
    del ok, bad, done, wrong


def results_and_queues() -> None:
    r: hub.AsyncResult[int] = hub.AsyncResult()
    r.set(1)
    n: int = r.get()
    s: str = r.result()  # type: ignore[assignment]
    q: Queue[str] = Queue()
    q.put("x")
    q.put(1)  # type: ignore[arg-type]
    item: str = q.get()
    del n, s, item


def pools_and_threads() -> None:
    squares: list[int] = Pool(2).map(lambda x: x * x, [1, 2])
    names: list[str] = Pool(2).map(_one, [1])  # type: ignore[arg-type]
    with ThreadPoolExecutor(1) as ex:
        fut: concurrent.futures.Future[int] = ex.submit(_one)
        value: str = fut.result()  # type: ignore[assignment]
    result = hub.get_hub().threadpool.spawn(_one)
    del squares, names, value, result


def fds() -> None:
    hub.wait_read(0, timeout=1)
    hub.wait_read("not an fd")  # type: ignore[arg-type]
