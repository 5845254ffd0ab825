"""A Celery worker pool that runs each task in a greenlet on the hub.

    CELERY_CUSTOM_WORKER_POOL=hub.celery:TaskPool \\
        python -m monkeypatch -m celery -A app worker -P custom -c 1000

``-P custom`` makes Celery load the class named by ``CELERY_CUSTOM_WORKER_POOL`` (Celery's
documented hook for out-of-tree pools); ``python -m monkeypatch`` patches the stdlib first, so
the tasks' socket IO, sleeps and (with the patched threading module) locks are cooperative and
one process runs up to ``-c`` tasks at once.

Behaviour, after Celery's own gevent pool:

- **concurrency**: at most ``limit`` (``-c``) tasks run at once; a task arriving while all slots
  are taken waits for one (the broker's prefetch limit keeps that queue short);
- **time limits**: a task still running after its soft limit gets
  ``celery.exceptions.SoftTimeLimitExceeded`` raised inside it (which it may catch to clean up;
  gevent's pool has no soft limit), and after its hard limit it is interrupted and reported as
  ``TimeLimitExceeded``;
- **revoke with terminate** kills the task's greenlet;
- **warm shutdown** (SIGTERM) waits for the running tasks; ``celery inspect stats`` shows the
  pool under ``pool``: implementation, max-concurrency, running tasks and free slots.

How it fits the worker: Celery asks kombu whether gevent or eventlet patched the socket module;
they did not, so the worker runs its own event loop (``asynloop``, kombu's hub on the patched
``select.epoll``) in the main greenlet, and this pool only starts greenlets. ``is_green`` stays
False so that the remote-control box runs inside that loop rather than in a greenlet of its
own that Celery would stop through a ``threading.Event`` (which blocks the hub when threading
is not patched).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from celery.concurrency import base
from celery.exceptions import SoftTimeLimitExceeded
from greenlet import GreenletExit, getcurrent

from ._core import get_hub
from ._greenlet import Greenlet
from ._timeout import Timeout
from .pool import Pool

__all__ = ["TaskPool"]


def _greenlet_id() -> int:
    """The "pid" Celery records for a task: the id of the greenlet running it."""
    return id(getcurrent())


class _TaskGreenlet(Greenlet):
    """A task's greenlet; ``terminate`` is what Celery calls on revoke(terminate=True)."""

    def terminate(self, signal: Any = None) -> None:
        """Revoked with terminate: interrupt the task (the signal has no meaning here)."""
        self.kill(block=False)


def _run_task(
    target: Any,
    args: Any,
    kwargs: Any,
    callback: Any,
    accept_callback: Any,
    timeout: float | None,
    soft_timeout: float | None,
    timeout_callback: Any,
    **options: Any,
) -> Any:
    """Run one task in the current greenlet, applying its soft and hard time limits."""
    me: Any = getcurrent()  # the _TaskGreenlet running this task
    soft_timer = None
    if soft_timeout and (not timeout or soft_timeout < timeout):

        def soft_limit() -> None:
            if timeout_callback is not None:
                timeout_callback(True, soft_timeout)
            me.kill(SoftTimeLimitExceeded(soft_timeout), block=False)

        soft_timer = get_hub().call_later(soft_timeout, soft_limit)
    hard = Timeout(timeout) if timeout else None
    try:
        if hard is not None:
            hard.start()
        return base.apply_target(
            target,
            args,
            kwargs,
            callback,
            accept_callback,
            _greenlet_id(),
            propagate=(Timeout,),
            **options,
        )
    except Timeout as exc:
        if exc is not hard:
            raise
        if timeout_callback is not None:
            timeout_callback(False, timeout)
        return None
    except GreenletExit:
        return None  # revoked with terminate: Celery has recorded the revocation already
    finally:
        if hard is not None:
            hard.cancel()
        if soft_timer is not None:
            soft_timer.cancel()


class TaskPool(base.BasePool):
    """Celery's ``BasePool`` on greenpatch's hub: one greenlet per task, ``limit`` at once."""

    signal_safe = False
    is_green = False  # see the module docstring
    task_join_will_block = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.timeout = kwargs.get("timeout")
        self.soft_timeout = kwargs.get("soft_timeout")
        super().__init__(*args, **kwargs)
        self._pool: Pool | None = None
        self._running: dict[int, _TaskGreenlet] = {}

    def on_start(self) -> None:
        """Create the greenlet pool of ``limit`` slots."""
        self._pool = Pool(self.limit or None, greenlet_class=_TaskGreenlet)

    def on_stop(self) -> None:
        """Warm shutdown: wait for the running tasks to finish."""
        if self._pool is not None:
            self._pool.join()

    def on_terminate(self) -> None:
        """Cold shutdown: kill the running tasks."""
        if self._pool is not None:
            self._pool.kill(block=False)

    def on_apply(
        self,
        target: Any,
        args: Any = None,
        kwargs: Any = None,
        callback: Any = None,
        accept_callback: Any = None,
        timeout: float | None = None,
        soft_timeout: float | None = None,
        timeout_callback: Any = None,
        **options: Any,
    ) -> _TaskGreenlet:
        """Start ``target`` in a greenlet, waiting for a free slot if all are taken."""
        assert self._pool is not None, "the pool was not started"
        for unused in ("waitforslot", "callbacks_propagate", "correlation_id", "error_callback"):
            options.pop(unused, None)
        g: Any = self._pool.spawn(
            _run_task,
            target,
            args or (),
            kwargs or {},
            callback,
            accept_callback,
            self.timeout if timeout is None else timeout,
            self.soft_timeout if soft_timeout is None else soft_timeout,
            timeout_callback,
            **options,
        )
        key = id(g)
        self._running[key] = g
        g.link(functools.partial(self._finished, key))
        return g

    def _finished(self, key: int, _greenlet: Any) -> None:
        self._running.pop(key, None)

    def terminate_job(self, pid: int, signal: Any = None) -> None:
        """Revoke with terminate: kill the task running in greenlet ``pid``."""
        g = self._running.get(pid)
        if g is not None:
            g.kill(block=False)

    def _get_info(self) -> dict[str, Any]:
        info = super()._get_info()
        running = len(self._running)
        info.update(
            {
                "implementation": "hub.celery:TaskPool",
                "max-concurrency": self.limit,
                "running": running,
                "free-slots": (self.limit - running) if self.limit else None,
                "processes": [os.getpid()],
            }
        )
        return info

    @property
    def num_processes(self) -> int:
        """Celery shows this as the pool's concurrency."""
        return self.limit or 0
