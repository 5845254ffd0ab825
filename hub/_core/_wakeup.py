"""Waking a hub from another OS thread: an eventfd (Linux) or a non-blocking pipe.

The hub watches ``read_fd`` like any other fd. Writers coalesce: ``Hub.run_threadsafe`` writes
only when no wake-up is outstanding, so a burst of calls from a worker thread costs one write and
one read, however long the burst.
"""

from __future__ import annotations

import os

from ._originals import os_read

__all__ = ["Wakeup"]


class Wakeup:
    """A self-pipe: ``wake()`` from any thread makes ``read_fd`` readable until ``drain()``."""

    __slots__ = ("read_fd", "write_fd")

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self.read_fd = self.write_fd = fd
        else:
            self.read_fd, self.write_fd = os.pipe()
            for fd in (self.read_fd, self.write_fd):
                os.set_blocking(fd, False)

    def wake(self) -> None:
        try:
            if self.read_fd == self.write_fd:
                os.eventfd_write(self.write_fd, 1)
            else:
                os.write(self.write_fd, b"\0")
        except BlockingIOError:
            pass  # already full of wake-ups: the reader will come
        except (OSError, ValueError):
            pass  # closed while another thread was waking it: nothing left to wake

    def drain(self) -> None:
        try:
            if self.read_fd == self.write_fd:
                os.eventfd_read(self.read_fd)
            else:
                while os_read(self.read_fd, 4096):
                    pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        fds = {self.read_fd, self.write_fd}
        self.read_fd = self.write_fd = -1
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def __del__(self) -> None:
        self.close()
