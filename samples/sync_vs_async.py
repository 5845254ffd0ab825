"""The same half-second task run 9 times one after another, then 10 times concurrently.

In sequence the waits add up (about 4.5 s); with one greenlet per task they overlap (about 0.5 s),
in one OS thread.
"""

import time

import hub


def task(number):
    hub.sleep(0.5)
    print(f"task {number} done", flush=True)


def synchronous(count=9):
    for i in range(1, count + 1):
        task(i)


def asynchronous(count=10):
    hub.joinall([hub.spawn(task, i) for i in range(1, count + 1)])


if __name__ == "__main__":
    started = time.monotonic()
    print("Synchronous:", flush=True)
    synchronous()
    sync_time = time.monotonic() - started

    started = time.monotonic()
    print("Asynchronous:", flush=True)
    asynchronous()
    async_time = time.monotonic() - started

    print(f"synchronous total: {sync_time:.2f} s")
    print(f"asynchronous total: {async_time:.2f} s")
