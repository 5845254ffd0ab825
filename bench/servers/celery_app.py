"""The Celery app of the task-queue benchmark: one no-op task; broker and backend BENCH_REDIS."""

import os

from celery import Celery

app = Celery("celery_app", broker=os.environ["BENCH_REDIS"], backend=os.environ["BENCH_REDIS"])
app.conf.worker_hijack_root_logger = False
app.conf.broker_connection_retry_on_startup = True


@app.task
def noop() -> None:
    """Nothing: the figure is the worker's own cost per task."""
