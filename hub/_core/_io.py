"""File-descriptor readiness: the per-fd state the hub keeps, and the pollers behind it.

How we use epoll, and why it is correct
=======================================

The fast path (Linux) registers each fd with epoll exactly once, for both directions, edge-
triggered: ``EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET``. A wait then costs no system call at all:
the greenlet stores its waiter in ``FdState.reader`` (or ``writer``) and switches to the hub.
This is only sound together with the rule every caller follows, *try first, wait second*: a
greenlet waits for readability only after the operation itself failed with EAGAIN (or
SSLWantRead). Edge-triggered epoll reports an event whenever new readiness arrives after that
point, so the wake-up cannot be lost:

- data that arrives after the EAGAIN raises an edge, which epoll queues even if the hub is busy;
- an edge that arrived *before* the EAGAIN (the data it announced was consumed by the try) is
  still queued and wakes the greenlet once more for nothing: it retries, gets EAGAIN, waits
  again. Spurious wake-ups are therefore normal and every IO loop tolerates them;
- EPOLLHUP/EPOLLERR/EPOLLRDHUP wake both directions; the retried call then reports the error or
  EOF itself, exactly as the blocking stdlib call would.

The hard part of epoll is that the kernel keys a registration on the pair *(fd number, open file
description)*, while ``epoll_ctl`` can only name the fd number:

- Closing an fd removes the registration only when the *last* fd referring to the description
  is closed. ``dup()``, ``fork()`` and ``SCM_RIGHTS`` create more such fds. So a closed-but-
  duplicated fd keeps reporting events under its old number; whoever later owns that number
  sees those as spurious wake-ups (harmless, see above), and ``epoll_ctl(DEL)`` cannot remove it.
- Conversely, if an fd is closed behind our back and its number reused for a new description,
  a registration we remember for that number is gone (or belongs to the old description), so
  trusting our table would wait forever.

Hence every registration goes through ``Hub.fd_state(fd)``, which always starts with
``epoll_ctl(ADD)``: EEXIST proves that this very (fd, description) pair is registered already;
success means a new description now has that number (and its current readiness is reported as
an edge at the next poll). Either way the registration is right, for one syscall. Two kinds of
caller:

- *Owners* (the cooperative socket): the socket calls ``fd_state`` once, when it first needs
  the hub (``connect`` on EINPROGRESS, or the first wait), keeps the FdState, and tells the hubs
  before it closes (``notify_fd_closing``: every thread's hub, see ``_closing``), which wakes its
  waiters with EBADF and does ``epoll_ctl(DEL)`` while the fd still refers to the right
  description. Later waits on the cached state (``Hub.wait_fd``) cost no syscall.
  ``FdState.hub`` becomes None once the state is ended, so an owner's one test ``st.hub is hub``
  tells it whether its cache is still good.
- *Bare numbers* (``hub.wait_read(fd)`` and friends, select(), selectors): we cannot know whether
  the number still means the same file, so each such wait calls ``fd_state`` again (one
  ``epoll_ctl(ADD)``), then ``Hub.wait_fds``.

Files epoll refuses (regular files and directories: EPERM) are always ready, as poll() reports
them; waits on them return at once. An fd that is not open at all raises OSError(EBADF) like
select() does.

Elsewhere (no epoll) ``SelectorPoller`` drives ``selectors.DefaultSelector`` level-triggered,
which means the interest set must follow the waiters: every wait start and end updates it
(``Hub._level_triggered`` guards those calls, so the epoll path pays one attribute test).
Setting ``GREENPATCH_POLLER=selectors`` selects it on Linux too, which is how its tests run.
"""

from __future__ import annotations

import errno
import os
import select
import selectors
from collections import deque
from typing import Any

from ._originals import real_poll

__all__ = [
    "NEW",
    "REGISTERED",
    "UNPOLLABLE",
    "EpollPoller",
    "FdState",
    "FdStatistics",
    "HubIO",
    "SelectorPoller",
    "make_poller",
    "poll_now",
]

# What a poller's add() found: a regular file that can never block, an fd it already watched,
# or one it watches from now on (see EpollPoller.add).
UNPOLLABLE, REGISTERED, NEW = 0, 1, 2

# The stdlib's own pollers, captured at import: patch_all() later replaces select.epoll and
# selectors.DefaultSelector with cooperative versions, which would wait on the hub itself.
_epoll: Any = getattr(select, "epoll", None)  # select.epoll, or None where there is none
_DefaultSelector = selectors.DefaultSelector


class FdState:
    """What the hub knows about one fd: who waits to read, who waits to write.

    ``reader`` and ``writer`` hold None, one waiter entry, or a deque of them (several greenlets
    may wait on one fd; an edge wakes them all and each retries its own call).

    ``readable`` is False only when any data in the fd's receive buffer is sure to be announced
    by an edge: a reader saw EAGAIN or a short read (fewer bytes than it asked for, from a stream
    socket) and no edge has been reported since, or the fd was just registered anew (a new
    registration reports what is already there as an edge, see ``Hub.fd_state``). The hub sets
    it back to True on every read edge, whether or not anybody waits. A reader that finds it
    False waits first instead of trying a call that would fail: any data that came after the
    flag was cleared raised an edge, which either already set the flag again or is queued in the
    kernel and will wake the waiter.

    ``hung_up`` makes that reasoning hold for the end of a stream too. EOF and socket errors are
    not bytes: a short read returns the last bytes and leaves the EOF (or error) behind, and the
    edge that announced it may be the very one that woke the reader. No edge follows, so a reader
    that waited now would wait for ever. Once the hub has seen a hang-up or error event on the fd
    it sets ``hung_up``, and a short read then leaves ``readable`` True.

    ``edge`` is True when the fd is pollable and the hub's poller edge-triggered: the case in
    which the socket's blocking recv may spell out its wait (hub.socket). ``hub`` becomes None
    when the fd is closed (``Hub.notify_closing``), so an owner's one test ``st.hub is hub``
    tells it whether its cached state is still good.
    """

    __slots__ = (
        "edge",
        "fd",
        "hub",
        "hung_up",
        "mask",
        "pollable",
        "readable",
        "reader",
        "writer",
    )

    def __init__(self, hub: Any, fd: int) -> None:
        self.hub = hub
        self.fd = fd
        self.reader: Any = None
        self.writer: Any = None
        self.pollable = True
        self.edge = False  # set by Hub.fd_state
        self.readable = True  # unknown: try first
        self.hung_up = False  # the peer closed or the fd has an error (edge-triggered poller)
        self.mask = 0  # the interest currently registered (level-triggered poller only)

    def statistics(self) -> FdStatistics:
        """Who waits on the fd and what the hub knows of it (for tests and debugging)."""
        return FdStatistics(
            _count(self.reader), _count(self.writer), self.readable, self.hung_up, self.mask
        )

    def __repr__(self) -> str:
        return f"<FdState fd={self.fd} reader={self.reader!r} writer={self.writer!r}>"


class FdStatistics:
    """What ``FdState.statistics()`` reports: ``readers`` and ``writers`` waiting, the
    ``readable`` and ``hung_up`` flags (see FdState), and ``interest``, the events registered
    with a level-triggered poller (0 for epoll, whose registration never changes)."""

    __slots__ = ("hung_up", "interest", "readable", "readers", "writers")

    def __init__(self, readers: int, writers: int, readable: bool, hung_up: bool, interest: int):
        self.readers = readers
        self.writers = writers
        self.readable = readable
        self.hung_up = hung_up
        self.interest = interest

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)}" for name in self.__slots__)
        return f"FdStatistics({fields})"


def _count(slot: Any) -> int:
    if slot is None:
        return 0
    return len(slot) if type(slot) is deque else 1


def add_waiter(slot: Any, w: Any) -> Any:
    """The new value of a reader/writer slot after waiter ``w`` joined it."""
    if slot is None:
        return w
    if type(slot) is deque:
        slot.append(w)
        return slot
    return deque((slot, w))


def remove_waiter(slot: Any, w: Any) -> Any:
    """The new value of a reader/writer slot after waiter ``w`` left it (if it was there)."""
    if slot is w:
        return None
    if type(slot) is deque:
        for i, x in enumerate(slot):
            if x is w:
                del slot[i]
                break
        if not slot:
            return None
        if len(slot) == 1:
            return slot[0]
    return slot


class EpollPoller:
    """Edge-triggered epoll; see the module docstring."""

    level_triggered = False
    READ_EVENTS = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP
    WRITE_EVENTS = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR
    HANGUP_EVENTS = select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP
    _MASK = select.EPOLLIN | select.EPOLLOUT | select.EPOLLRDHUP | select.EPOLLET

    def __init__(self) -> None:
        self._epoll = _epoll()
        #: ``poll(timeout_seconds)``: -1 blocks; returns a list of ``(fd, events)``.
        self.poll = self._epoll.poll

    def add(self, fd: int) -> int:
        """Register ``fd``: ``NEW``, ``REGISTERED`` (it was already: EEXIST) or ``UNPOLLABLE``
        (a regular file, which can never block). Raises EBADF.

        A new registration reports the fd's current readiness at the next poll, as if an edge
        had just happened (epoll checks the fd when it is added); an old one does not.
        """
        try:
            self._epoll.register(fd, self._MASK)
        except FileExistsError:
            return REGISTERED
        except PermissionError:
            return UNPOLLABLE
        return NEW

    def remove(self, fd: int) -> None:
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def update(self, st: FdState) -> None:
        """Nothing to do: the registration covers both directions for the fd's life."""

    def close(self) -> None:
        self._epoll.close()


class SelectorPoller:
    """Level-triggered fallback on ``selectors.DefaultSelector``: interest follows the waiters."""

    level_triggered = True
    READ_EVENTS = selectors.EVENT_READ
    WRITE_EVENTS = selectors.EVENT_WRITE
    HANGUP_EVENTS = 0  # level-triggered: a pending EOF is reported again at every poll

    def __init__(self) -> None:
        self._sel = _DefaultSelector()
        self._unpollable: set[int] = set()

    def add(self, fd: int) -> int:
        # Probe once: regular files are refused by some selectors (epoll), always ready for all.
        # Level-triggered: whatever is ready is reported as soon as somebody waits, so an fd the
        # selector did not hold counts as NEW.
        try:
            self._sel.register(fd, selectors.EVENT_READ)
        except KeyError:
            return REGISTERED  # by a waiter
        except PermissionError:
            return UNPOLLABLE
        except ValueError:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF)) from None
        self._sel.unregister(fd)
        return NEW

    def remove(self, fd: int) -> None:
        try:
            self._sel.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def update(self, st: FdState) -> None:
        if st.fd < 0:
            # Closed, perhaps by another thread a moment ago (hub/_core/_closing.py): nothing to
            # watch; its hub's callback drops the selector's entry and wakes the waiters.
            return
        mask = (selectors.EVENT_READ if st.reader is not None else 0) | (
            selectors.EVENT_WRITE if st.writer is not None else 0
        )
        if mask == st.mask:
            return
        sel = self._sel
        try:
            if not st.mask:
                sel.register(st.fd, mask)
            elif not mask:
                sel.unregister(st.fd)
            else:
                sel.modify(st.fd, mask)
        except KeyError:
            # The selector's idea of the fd drifted (closed and reused); start over.
            self.remove(st.fd)
            if mask:
                sel.register(st.fd, mask)
        st.mask = mask

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        ready = self._sel.select(None if timeout < 0 else timeout)
        return [(key.fd, events) for key, events in ready]

    def close(self) -> None:
        self._sel.close()


class HubIO:
    """The fd attributes of a ``Hub``, declared once for the mixins that work on them.

    ``_fds`` (fd -> FdState; emptied in place, never replaced), ``_poller`` (``make_poller()``'s),
    ``_level_triggered`` (the selectors fallback: waits must update the poller), ``_wakeup`` (the
    eventfd or pipe other threads write to) and its FdState ``_wakeup_st``. ``Hub`` sets them;
    ``FdWaits``, ``CrossThread`` and ``ForkReinit`` only use them.
    """

    __slots__ = ()
    _fds: dict[int, FdState]
    _poller: Any
    _level_triggered: bool
    _wakeup: Any
    _wakeup_st: FdState


def make_poller() -> EpollPoller | SelectorPoller:
    """epoll where the platform has it, unless ``GREENPATCH_POLLER=selectors``."""
    if _epoll is not None and os.environ.get("GREENPATCH_POLLER", "epoll") != "selectors":
        return EpollPoller()
    return SelectorPoller()


def poll_now(fd: int, events: int) -> int:
    """The ``select.poll`` events of ``events`` that ``fd`` reports right now, without waiting.

    0 when it is ready for none of them; POLLHUP, POLLERR and POLLNVAL (a closed fd) come
    whether asked for or not. The level-triggered question the edge-triggered hub cannot answer:
    a caller that must know "is it readable now" before it waits (it cannot simply try the
    operation, or did not drain the fd) asks the kernel once. poll, not select: select refuses
    fds of 1024 and up. It is the stdlib's poll captured at import, never a patched one (which
    would do the same for a zero timeout, but through the hub).
    """
    p = real_poll()
    p.register(fd, events)
    ready = p.poll(0)
    return ready[0][1] if ready else 0
