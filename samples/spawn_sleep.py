"""Three greenlets sleeping 2 s, 1 s and 0 s at once: prints 1 2 3 6 5 4 in about 2 seconds.

Each greenlet prints its first number and goes to sleep; the hub runs the others meanwhile and
wakes each when its time is up, shortest first.
"""

import time

import hub


def task(start_number, seconds, end_number):
    print(start_number, flush=True)
    hub.sleep(seconds)
    print(end_number, flush=True)


if __name__ == "__main__":
    started = time.monotonic()
    hub.joinall(
        [
            hub.spawn(task, 1, 2, 4),
            hub.spawn(task, 2, 1, 5),
            hub.spawn(task, 3, 0, 6),
        ]
    )
    print(f"done in {time.monotonic() - started:.1f} s")
