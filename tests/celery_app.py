"""The Celery app the pool tests run a worker for (tests/test_celery_pool.py).

Broker and result backend: the Redis URL in ``GREENPATCH_TEST_REDIS``; ``GREENPATCH_TEST_MARKS``
names a file tasks append "start NAME" / "end NAME" lines to.
"""

from __future__ import annotations

import os
import time

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

app = Celery(
    "celery_app",
    broker=os.environ["GREENPATCH_TEST_REDIS"],
    backend=os.environ["GREENPATCH_TEST_REDIS"],
)
app.conf.worker_hijack_root_logger = False
app.conf.broker_connection_retry_on_startup = True


def _mark(what: str) -> None:
    with open(os.environ["GREENPATCH_TEST_MARKS"], "a") as f:
        f.write(what + "\n")


@app.task
def nap(seconds: float) -> int:
    """Sleep (cooperatively, under patch_all) and say which process ran it."""
    time.sleep(seconds)
    return os.getpid()


@app.task
def noop() -> None:
    """Nothing: for throughput."""


@app.task(time_limit=1)
def forever() -> None:
    """Runs past its hard time limit."""
    time.sleep(60)


@app.task(soft_time_limit=0.5, time_limit=10)
def polite() -> str:
    """Catches its soft time limit and cleans up."""
    try:
        time.sleep(60)
    except SoftTimeLimitExceeded:
        return "cleaned up"
    return "not interrupted"


@app.task
def marked_nap(name: str, seconds: float) -> str:
    """Sleep, writing start and end marks."""
    _mark(f"start {name}")
    time.sleep(seconds)
    _mark(f"end {name}")
    return name
