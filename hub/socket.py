"""A cooperative socket module: the stdlib's API, with every blocking call waiting on the hub.

``hub.socket.socket`` subclasses the stdlib class, so ``isinstance(s, socket.socket)`` holds for
code that kept the original class. Everything that does not block is the stdlib's own object,
re-exported as is.

How a cooperative socket works
------------------------------
The fd is always non-blocking at the OS level (the C-level timeout stays 0.0). The timeout the
user sees, ``gettimeout()``, lives in ``_timeout`` and decides what happens when a call would
block: ``0.0`` raises BlockingIOError as the stdlib does, ``None`` waits as long as it takes,
a number waits at most that long and then raises ``TimeoutError("timed out")`` (alias
``socket.timeout``), with one deadline per call (``sendall`` included, as in Python 3.5+).

Every operation is *try first, wait second*: the system call runs, and only when it fails with
EAGAIN does the greenlet wait for readiness (``Hub.wait_fd``) and retry. The socket registers its
fd with the hub the first time it waits and tells the hub before it closes, which wakes any other
greenlet waiting on it with OSError(EBADF) instead of leaving it hanging.

Host names given to ``connect``, ``connect_ex``, ``sendto`` and ``sendmsg`` are resolved with the
cooperative resolver first, so the C call never does DNS in the hub's thread.
"""

from __future__ import annotations

import _socket
import errno as _errno
import io as _io
import os as _os
import socket as _stdlib_socket
import sys as _sys
from collections.abc import Iterator as _Iterator
from socket import *
from typing import Any

from greenlet import getcurrent as _getcurrent

from ._core import PENDING as _PENDING
from ._core import TIMEOUT as _TIMEOUT
from ._core import FdState as _FdState
from ._core import InvalidSwitchError as _InvalidSwitchError
from ._core import add_waiter as _add_waiter
from ._core import get_hub as _get_hub
from ._core import notify_fd_closing as _notify_fd_closing
from ._core import remove_waiter as _remove_waiter
from ._dns import (
    getaddrinfo,
    getfqdn,
    gethostbyaddr,
    gethostbyname,
    gethostbyname_ex,
    getnameinfo,
    is_numeric_host,
)
from ._greenlet import sleep as _sleep
from ._io_waits import cancel_wait, wait_read, wait_readwrite, wait_write

__all__ = [
    *_stdlib_socket.__all__,
    "SocketIO",
    "SocketType",
    "cancel_wait",
    "create_connection",
    "create_server",
    "fromfd",
    "getaddrinfo",
    "getfqdn",
    "gethostbyaddr",
    "gethostbyname",
    "gethostbyname_ex",
    "getnameinfo",
    "socket",
    "socketpair",
    "timeout",
    "wait_read",
    "wait_readwrite",
    "wait_write",
]
__all__ = sorted(set(__all__))

_original_socket = _stdlib_socket.socket
SocketIO = _stdlib_socket.SocketIO
SocketType = _socket.socket
timeout = TimeoutError
_GiveupOnSendfile = _stdlib_socket._GiveupOnSendfile  # type: ignore[attr-defined]
_GLOBAL_DEFAULT_TIMEOUT: Any = _stdlib_socket._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]

# The C-level methods, bound once: the hot paths call them without attribute lookups.
_c = _socket.socket
_c_recv = _c.recv
_c_recv_into = _c.recv_into
_c_recvfrom = _c.recvfrom
_c_recvfrom_into = _c.recvfrom_into
_c_send = _c.send
_c_sendto = _c.sendto
_c_accept = _c._accept
_c_connect_ex = _c.connect_ex
_c_settimeout = _c.settimeout
_c_gettimeout = _c.gettimeout
_c_getsockopt = _c.getsockopt
_c_shutdown = _c.shutdown
_c_type = _c.type.__get__  # type: ignore[attr-defined]
# The plain int: the stdlib's ``family`` property converts it to an enum, which costs a microsecond.
_c_family = _c.family.__get__  # type: ignore[attr-defined]
_SOCK_STREAM = _socket.SOCK_STREAM
_c_recvmsg = getattr(_c, "recvmsg", None)
_c_recvmsg_into = getattr(_c, "recvmsg_into", None)
_c_sendmsg = getattr(_c, "sendmsg", None)
_c_sendmsg_afalg = getattr(_c, "sendmsg_afalg", None)
_c_setblocking = _c.setblocking

# Where each call takes its flags: in blocking mode a call given MSG_DONTWAIT never waits.
# (sendto's flags come second only in its three-argument form; the type check sorts that out.)
_DONTWAIT = getattr(_stdlib_socket, "MSG_DONTWAIT", 0)
_FLAGS_AT = {
    fn: at
    for fn, at in (
        (_c_recv, 1),
        (_c_recv_into, 2),
        (_c_recvfrom, 1),
        (_c_recvfrom_into, 2),
        (_c_recvmsg, 2),
        (_c_recvmsg_into, 2),
        (_c_send, 1),
        (_c_sendto, 1),
        (_c_sendmsg, 2),
    )
    if fn is not None
}


def _reiterable(arg: Any) -> Any:
    """``arg``, or a list of its items if it is a one-shot iterator (a generator, say).

    A call that fails with EAGAIN is made again after the wait, and the C function would then
    find a generator of buffers already used up. The stdlib's blocking call consumes it once.
    """
    return list(arg) if isinstance(arg, _Iterator) else arg


_AF_UNIX = getattr(_socket, "AF_UNIX", None)
_INET = (_socket.AF_INET, getattr(_socket, "AF_INET6", _socket.AF_INET))
# connect() results that mean "still connecting". EINTR too: the connection goes on in the
# background (the stdlib's blocking connect then waits for it, as we do).
_CONNECT_PENDING = frozenset(
    {_errno.EINPROGRESS, _errno.EALREADY, _errno.EWOULDBLOCK, _errno.EAGAIN, _errno.EINTR}
)
# Whether asking connect() again tells a finished connection from one in progress (see _connect):
# Linux answers 0 (or EISCONN), EALREADY or the connection's error. Elsewhere a failed attempt may
# be retried instead of reported, so there the socket waits for writability and reads SO_ERROR.
_ASK_AGAIN = _sys.platform.startswith("linux")


# What a closing socket keeps as its FdState: no hub (closed), never pollable (see _register).
_CLOSED_STATE = _FdState(None, -1)
_CLOSED_STATE.pollable = False


# settimeout's fast path. The C layer turns a timeout into whole nanoseconds (rounding up) and
# gettimeout() reports that, so 1e-10 reads back as 1e-9: the two tables map each float or int
# value settimeout() has been given to what the C layer made of it (its first call with a value
# asks the C layer; a few hundred distinct values of each type at most are kept), one table per type
# because an int and the float equal to it need not round alike. Other types (bool, a Decimal, an
# object with __float__...) always go to the C layer, which decides what they mean or raises.
_NORMALISED_FLOAT: dict[float, float] = {}
_NORMALISED_INT: dict[int, float] = {}
_UNSEEN: Any = object()
# The fd stays non-blocking from __init__ on, which is what lets settimeout skip the C calls. The
# one exception is detach(): it hands the fd over in the blocking mode its timeout implies, and a
# socket object of ours may already hold that fd. The stdlib's SSLSocket._create builds the TLS
# socket on the fd first, then detaches the plain one, then calls settimeout() on the new one,
# counting on it to set the fd's mode: skipping that left a blocking fd under a cooperative
# socket, and its recv() blocked the whole thread (tests/test_closing.py hung, waiting for a
# close that a blocked read(2) never notices). So detach() notes the fd here; settimeout() on a
# noted fd takes the slow path, and that and __init__ forget it, the fd being non-blocking again.
# A stale number (the new owner closed the fd) costs a lookup per settimeout() while the set is
# not empty, and one slow call on the next socket of ours to get that number: never a wrong mode.
_LEFT_BLOCKING: set[int] = set()


def _timed_out() -> TimeoutError:
    return TimeoutError("timed out")


class socket(_original_socket):
    """A cooperative :class:`socket.socket`: same API, same errors; blocking calls let other
    greenlets run."""

    __slots__ = ("_st", "_timeout", "_type")

    def __init__(
        self, family: int = -1, type: int = -1, proto: int = -1, fileno: int | None = None
    ) -> None:
        super().__init__(family, type, proto, fileno)
        # The C layer applied the default timeout; that is the user's. The fd goes non-blocking.
        self._timeout: float | None = _c_gettimeout(self)
        self._st: Any = None
        self._type = _c_type(self)
        _c_settimeout(self, 0.0)
        if _LEFT_BLOCKING:
            _LEFT_BLOCKING.discard(_c.fileno(self))  # non-blocking again (see settimeout)

    # -- the user-visible timeout -----------------------------------------------------------

    def settimeout(self, value: float | None) -> None:
        """Like :meth:`socket.socket.settimeout`; the fd itself stays non-blocking."""
        # Whatever the value, the fd stays non-blocking, so a value seen before needs no system
        # call: drivers set a timeout around every command (redis-py twice per command), and the
        # C layer's round trip costs two ioctl(FIONBIO). See _NORMALISED_FLOAT, _LEFT_BLOCKING.
        if value is None:
            timeout = None
        elif type(value) is float:
            timeout = _NORMALISED_FLOAT.get(value, _UNSEEN)
        elif type(value) is int:
            timeout = _NORMALISED_INT.get(value, _UNSEEN)
        else:
            timeout = _UNSEEN
        if timeout is _UNSEEN or (_LEFT_BLOCKING and _c.fileno(self) in _LEFT_BLOCKING):
            self._settimeout_slow(value)
        else:
            self._timeout = timeout

    def _settimeout_slow(self, value: Any) -> None:
        _c_settimeout(self, value)  # validates (TypeError/ValueError...) and normalises
        timeout = self._timeout = _c_gettimeout(self)
        _c_settimeout(self, 0.0)
        _LEFT_BLOCKING.discard(_c.fileno(self))  # non-blocking again, whatever it was
        seen = _NORMALISED_FLOAT if type(value) is float else _NORMALISED_INT
        if (type(value) is float or type(value) is int) and len(seen) < 256:
            seen[value] = timeout

    def gettimeout(self) -> float | None:
        """The timeout set with :meth:`settimeout` (None: blocking, 0.0: non-blocking)."""
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """``setblocking(True)`` is ``settimeout(None)``; False is ``settimeout(0.0)``."""
        _c_setblocking(self, False)  # the stdlib's errors for a closed or invalid fd
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        """False only in non-blocking mode (timeout 0.0), as in the stdlib."""
        return self._timeout != 0.0

    @property
    def timeout(self) -> float | None:  # type: ignore[override]
        """The timeout set with :meth:`settimeout`."""
        return self._timeout

    # -- waiting ------------------------------------------------------------------------------

    def _fd_state(self) -> tuple[Any, Any]:
        """(this thread's hub, this socket's FdState in it), registering the fd on first use."""
        hub = _get_hub()  # (not on a per-message path: the hot ones look the hub up inline)
        st = self._st
        if st is None or st.hub is not hub:  # (a closed fd's FdState has no hub)
            st = self._register(hub)
        return hub, st

    def _register(self, hub: Any) -> Any:
        """Register the fd with ``hub`` (the cached FdState is another hub's, or there is none).

        ``_CLOSED_STATE`` cached means this socket is being closed, perhaps by another thread
        that has told the hubs and not yet closed the fd: a registration made now would vanish
        with the fd and its wait would never be woken (a greenlet whose ``select()`` that close
        woke, going on to ``accept()``). Raise the stdlib's error for a call on a closed socket
        instead. (A state some other owner closed, a twin socket object or a fork, registers
        afresh: the fd may well still be this socket's.)
        """
        st = self._st
        if st is _CLOSED_STATE:
            raise OSError(_errno.EBADF, _os.strerror(_errno.EBADF))
        st = self._st = hub.fd_state(self.fileno())
        return st

    def _wait(self, write: bool, timeout: float | None) -> bool:
        """Wait for readiness (the caller got EAGAIN). False if ``timeout`` expired."""
        hub, st = self._fd_state()
        return hub.wait_fd(st, write, timeout)

    def _call(self, write: bool, fn: Any, args: tuple[Any, ...]) -> Any:
        """``fn(self, *args)``, tried first; on EAGAIN raise (non-blocking mode) or wait and retry.

        The shape of every operation; the hottest ones (recv, recv_into, send, sendall) spell it
        out themselves to save this call.
        """
        try:
            return fn(self, *args)
        except BlockingIOError:
            if self._timeout == 0.0:
                raise
        return self._retry(write, fn, args)

    def _retry(self, write: bool, fn: Any, args: tuple[Any, ...]) -> Any:
        """The slow path of every operation: wait until ready, then ``fn(self, *args)``.

        Called after the first try failed with EAGAIN (or was skipped, see recv), in blocking or
        timeout mode. One deadline covers the whole call.
        """
        timeout = self._timeout
        if timeout == 0.0:
            raise BlockingIOError(_errno.EAGAIN, "Resource temporarily unavailable")
        if timeout is None and len(args) > 1:
            # MSG_DONTWAIT in blocking mode: one try, EAGAIN raised, as the stdlib does. (With a
            # timeout the stdlib waits for readiness first, as the loop below does.)
            at = _FLAGS_AT.get(fn)
            if (
                at is not None
                and len(args) > at
                and isinstance(args[at], int)
                and args[at] & _DONTWAIT
            ):
                return fn(self, *args)
        # self._fd_state(), inlined: every wait of every operation passes here.
        try:
            hub = _getcurrent()._hub
        except AttributeError:
            hub = _get_hub()
        st = self._st
        if st is None or st.hub is not hub:  # (a closed fd's FdState has no hub)
            st = self._register(hub)
            if st.readable:
                # The fd was registered with this hub before, by another owner or while this
                # socket was used from another thread's hub: an edge may have come and gone with
                # nobody waiting here, so the skipped or failed try proves nothing. Try again.
                try:
                    return fn(self, *args)
                except BlockingIOError:
                    pass
        wait_fd = hub.wait_fd
        if timeout is None:
            while True:
                wait_fd(st, write, None)
                try:
                    return fn(self, *args)
                except BlockingIOError:
                    pass
        clock = hub.clock
        deadline = clock() + timeout
        remaining = timeout  # the first wait has it all; spurious wake-ups spend it
        while True:
            if remaining <= 0 or not wait_fd(st, write, remaining):
                raise _timed_out()
            try:
                return fn(self, *args)
            except BlockingIOError:
                pass
            remaining = deadline - clock()

    # -- reading ------------------------------------------------------------------------------

    # recv and recv_into are the hottest calls there are. Besides trying first, they keep the
    # fd's ``readable`` flag (see FdState): a short read or EAGAIN marks the buffer drained, so
    # the next call waits for an edge instead of paying for a system call and an exception that
    # would only say "nothing yet". Only plain reads (no flags: MSG_PEEK leaves data behind) of
    # stream sockets count, and EOF never does (no edge follows it). A short read after the hub
    # saw a hang-up leaves the flag set: the EOF or error behind the last bytes raises no new edge
    # (FdState.hung_up).

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        """Cooperative :meth:`socket.socket.recv`."""
        # Named parameters, not *args: forwarding a star-argument tuple costs about 600
        # instructions a call here, and flags=0 is what the C method assumes when given none.
        st = self._st
        timeout = self._timeout
        # (``timeout is not None and not timeout`` is ``timeout == 0.0`` without the slow
        # comparison of None with a float.) Arguments the C method answers at once without
        # reading (a size of 0, an error) are tried first even on a drained socket.
        if (
            st is None
            or st.readable
            or (timeout is not None and not timeout)
            or type(bufsize) is not int
            or bufsize <= 0
            or type(flags) is not int
        ):
            try:
                data = _c_recv(self, bufsize, flags)
            except BlockingIOError:
                if timeout == 0.0:
                    raise
                if st is not None:
                    st.readable = False
            else:
                if st is not None and not flags and 0 < len(data) < bufsize:
                    st.readable = st.hung_up or self._type != _SOCK_STREAM
                return data
        if not flags:
            # No flags, blocking or with a timeout (0.0 never gets here): the wait of every
            # echoed message, and of every reply a database driver reads (redis-py's sockets
            # have a timeout). Hub.wait_fd's and Hub.suspend's steps (the switching rule:
            # register, switch to the hub, unregister in finally) are spelled out here, as
            # _retry's are: each Python call they save costs about 1k instructions on this path
            # (the socket calls of a redis-py command: 62.9k -> 58.3k, callgrind). Anything unusual
            # (the hub itself calling, an fd epoll refuses or the level-triggered poller:
            # ``st.edge`` False) takes the general path below.
            cur = _getcurrent()
            try:
                hub = cur._hub
            except AttributeError:
                hub = _get_hub()
            if st is None or st.hub is not hub:  # (a closed fd's FdState has no hub)
                st = self._register(hub)
                if st.readable:  # known to this hub already: try first (see _retry)
                    return self.recv(bufsize, flags)
            if cur is not hub and st.edge:
                timer = None
                if timeout is not None:
                    # One deadline for the call, as in _retry: the first wait has it all,
                    # spurious wake-ups spend it.
                    clock = hub.clock
                    deadline = clock() + timeout
                while True:
                    w = [cur, _PENDING]
                    slot = st.reader
                    st.reader = w if slot is None else _add_waiter(slot, w)
                    try:
                        if timeout is not None:
                            timer = hub.timer(timeout, w, _TIMEOUT)
                        hub.switch()
                    finally:
                        w[0] = None
                        slot = st.reader
                        if slot is w:
                            st.reader = None
                        elif slot is not None:
                            st.reader = _remove_waiter(slot, w)
                        if timer is not None and timer.active:
                            timer.cancel()
                    if w[1] is not True:
                        if w[1] is _TIMEOUT:
                            raise _timed_out()
                        raise _wait_failed(cur, w[1])
                    try:
                        data = _c_recv(self, bufsize)
                    except BlockingIOError:
                        # A spurious wake-up (see _io): wait for the next edge.
                        if timeout is not None:
                            timeout = deadline - clock()
                            if timeout <= 0:
                                raise _timed_out() from None
                        continue
                    if 0 < len(data) < bufsize:
                        # (Two branches: a comparison that feeds a jump is the quick kind.)
                        if st.hung_up or self._type != _SOCK_STREAM:
                            st.readable = True
                        else:
                            st.readable = False
                    return data
        data = self._retry(False, _c_recv, (bufsize, flags))
        if not flags and 0 < len(data) < bufsize:
            st = self._st
            st.readable = st.hung_up or self._type != _SOCK_STREAM
        return data

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        """Cooperative :meth:`socket.socket.recv_into`."""
        if kwargs:
            args = _recv_into_args(*args, **kwargs)
        st = self._st
        if st is None or st.readable or self._timeout == 0.0:
            try:
                n = _c_recv_into(self, *args)
            except BlockingIOError:
                if self._timeout == 0.0:
                    raise
                if st is not None:
                    st.readable = False
            else:
                if st is not None and n and len(args) <= 2:
                    self._note_short_read(st, n, args)
                return n
        n = self._retry(False, _c_recv_into, args)
        if n and len(args) == 1 and type(args[0]) is memoryview:
            # What SocketIO.readinto (makefile(), http.client) passes: _note_short_read inlined.
            if n < args[0].nbytes:
                st = self._st
                st.readable = st.hung_up or self._type != _SOCK_STREAM
        elif n and len(args) <= 2:
            self._note_short_read(self._st, n, args)
        return n

    def _note_short_read(self, st: Any, n: int, args: tuple[Any, ...]) -> None:
        asked = args[1] if len(args) == 2 and args[1] else memoryview(args[0]).nbytes
        if n < asked:
            st.readable = st.hung_up or self._type != _SOCK_STREAM

    def recvfrom(self, *args: Any) -> tuple[bytes, Any]:
        """Cooperative :meth:`socket.socket.recvfrom`."""
        return self._call(False, _c_recvfrom, args)

    def recvfrom_into(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        """Cooperative :meth:`socket.socket.recvfrom_into`."""
        if kwargs:
            args = _recv_into_args(*args, **kwargs)
        return self._call(False, _c_recvfrom_into, args)

    if _c_recvmsg is not None:

        def recvmsg(self, *args: Any) -> tuple[bytes, list[Any], int, Any]:
            """Cooperative :meth:`socket.socket.recvmsg`."""
            return self._call(False, _c_recvmsg, args)

        def recvmsg_into(self, *args: Any) -> tuple[int, list[Any], int, Any]:
            """Cooperative :meth:`socket.socket.recvmsg_into`."""
            if args:
                args = (_reiterable(args[0]), *args[1:])
            return self._call(False, _c_recvmsg_into, args)

    # -- writing ------------------------------------------------------------------------------

    def send(self, *args: Any) -> int:
        """Cooperative :meth:`socket.socket.send`."""
        try:
            return _c_send(self, *args)
        except BlockingIOError:
            if self._timeout == 0.0:
                raise
        return self._retry(True, _c_send, args)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Cooperative :meth:`socket.socket.sendall`: ``timeout`` bounds the whole call."""
        try:
            sent = _c_send(self, data, flags)
        except BlockingIOError:
            if self._timeout == 0.0:
                raise
            sent = 0
        else:
            # Fast path: everything went out in one call (the usual case for small messages).
            if type(data) is bytes:
                if sent == len(data):
                    return
            elif sent == memoryview(data).nbytes:
                return
        self._sendall_rest(data, flags, sent)

    def _sendall_rest(self, data: Any, flags: int, sent: int) -> None:
        timeout = self._timeout
        clock = _get_hub().clock
        deadline = None if timeout is None else clock() + timeout
        with memoryview(data) as view, view.cast("B") as octets:
            total = len(octets)
            while sent < total:
                try:
                    sent += _c_send(self, octets[sent:], flags)
                    continue
                except BlockingIOError:
                    if timeout == 0.0 or (timeout is None and flags & _DONTWAIT):
                        raise  # MSG_DONTWAIT in blocking mode: the stdlib does not wait either
                remaining = None if deadline is None else deadline - clock()
                if remaining is not None and remaining <= 0:
                    raise _timed_out()
                if not self._wait(True, remaining):
                    raise _timed_out()

    def sendto(self, *args: Any) -> int:
        """Cooperative :meth:`socket.socket.sendto` (host names resolved cooperatively)."""
        if args:
            args = (*args[:-1], self._resolve(args[-1]))
        return self._call(True, _c_sendto, args)

    if _c_sendmsg is not None:

        def sendmsg(self, *args: Any) -> int:
            """Cooperative :meth:`socket.socket.sendmsg`."""
            if len(args) >= 4 and args[3] is not None:
                args = (*args[:3], self._resolve(args[3]), *args[4:])
            if args:
                args = (*[_reiterable(a) for a in args[:2]], *args[2:])
            return self._call(True, _c_sendmsg, args)

    if _c_sendmsg_afalg is not None:

        def sendmsg_afalg(self, *args: Any, **kwargs: Any) -> int:
            """Cooperative :meth:`socket.socket.sendmsg_afalg`."""
            if args:
                args = (_reiterable(args[0]), *args[1:])
            if "msg" in kwargs:
                kwargs["msg"] = _reiterable(kwargs["msg"])
            return self._call(True, lambda s: _c_sendmsg_afalg(s, *args, **kwargs), ())

    def _sendfile_use_sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        # os.sendfile() on the non-blocking fd, waiting for writability on EAGAIN.
        if not hasattr(_os, "sendfile"):
            raise _GiveupOnSendfile("os.sendfile() not available on this platform")
        self._check_sendfile_params(file, offset, count)  # type: ignore[attr-defined]
        sockno = self.fileno()
        try:
            fileno = file.fileno()
            fsize = _os.fstat(fileno).st_size
        except (AttributeError, _io.UnsupportedOperation, OSError) as err:
            raise _GiveupOnSendfile(err)  # not a regular file
        if not fsize:
            return 0
        timeout = self._timeout
        if timeout == 0.0:
            raise ValueError("non-blocking sockets are not supported")
        clock = _get_hub().clock
        deadline = None if timeout is None else clock() + timeout
        blocksize = min(count or fsize, 2**30)
        total_sent = 0
        try:
            while True:
                if count:
                    blocksize = count - total_sent
                    if blocksize <= 0:
                        break
                try:
                    sent = _os.sendfile(sockno, fileno, offset, blocksize)
                except BlockingIOError:
                    remaining = None if deadline is None else deadline - clock()
                    if (remaining is not None and remaining <= 0) or not self._wait(
                        True, remaining
                    ):
                        raise _timed_out() from None
                    continue
                except OSError as err:
                    if total_sent == 0:
                        raise _GiveupOnSendfile(err)  # e.g. not an mmap-able file: use send()
                    raise err from None
                if sent == 0:
                    break  # end of file
                offset += sent
                total_sent += sent
            return total_sent
        finally:
            if total_sent > 0 and hasattr(file, "seek"):
                file.seek(offset)

    # -- connections --------------------------------------------------------------------------

    def accept(self) -> tuple[socket, Any]:
        """Cooperative :meth:`socket.socket.accept`; the new socket is cooperative too."""
        fd, addr = self._call(False, _c_accept, ())
        sock = socket(self.family, self.type, self.proto, fileno=fd)
        # As the stdlib: the new socket has the default timeout, whatever the listener's.
        return sock, addr

    def connect(self, address: Any) -> None:
        """Cooperative :meth:`socket.socket.connect`."""
        self._connect(self._resolve(address), raise_errors=True)

    def connect_ex(self, address: Any) -> int:
        """Cooperative :meth:`socket.socket.connect_ex`: an errno instead of an exception."""
        return self._connect(self._resolve(address), raise_errors=False)

    def _connect(self, address: Any, raise_errors: bool) -> int:
        """connect/connect_ex to ``address``, resolved already."""
        # connect_ex, not connect: an error number costs no exception. It still raises what is
        # not a connection error (a bad address), as the stdlib's connect_ex does.
        err = _c_connect_ex(self, address)
        if err == _errno.EAGAIN and _c_family(self) == _AF_UNIX:
            # Not "connecting": the listener's backlog is full and nothing is under way, so
            # writability would say nothing. The stdlib reports it in non-blocking and timeout
            # mode; its blocking connect waits for room, which we poll for.
            delay = 0.001
            while err == _errno.EAGAIN and self._timeout is None:
                _sleep(delay)
                delay = min(delay * 2, 0.05)
                err = _c_connect_ex(self, address)
            if err == _errno.EAGAIN:
                if raise_errors:
                    raise BlockingIOError(err, _os.strerror(err))
                return err
        if err in _CONNECT_PENDING and self._timeout != 0.0:
            if _ASK_AGAIN:
                # A peer that answers at once (loopback, the local network) has usually finished
                # the handshake by the time connect() returned EINPROGRESS: the kernel processed
                # the SYN-ACK before giving the socket back. Asking again costs one system call
                # and, when it is done, saves a wait on the hub (two switches, a timer): Linux
                # answers 0 once connected, EALREADY while still connecting, or the error.
                err = _c_connect_ex(self, address)
                if err == _errno.EISCONN:
                    err = 0
                if not err:
                    # Register the fd now: a new registration counts as drained (Hub.fd_state:
                    # whatever is already there is reported as an edge), so the first recv,
                    # which nearly always comes before the peer's answer, waits without failing
                    # a system call first. The epoll_ctl is the one that recv would make anyway.
                    self._fd_state()
            if err in _CONNECT_PENDING:
                # In progress: wait until writable, then ask the kernel how it ended.
                if not self._wait(True, self._timeout):
                    if raise_errors:
                        raise _timed_out()
                    return _errno.EAGAIN if _sys.platform != "win32" else _errno.EWOULDBLOCK
                err = _c_getsockopt(self, _socket.SOL_SOCKET, _socket.SO_ERROR)
        if err and raise_errors:
            raise OSError(err, _os.strerror(err))
        return err

    def _resolve(self, address: Any) -> Any:
        """``address`` with its host name resolved cooperatively (IP families only)."""
        if (
            type(address) is tuple
            and _c_family(self) in _INET
            and len(address) >= 2
            and isinstance(address[0], (str, bytes))
            and not is_numeric_host(address[0])
            and address[0] not in ("", "<broadcast>", b"", b"<broadcast>")
        ):
            host, port = address[0], address[1]
            infos = getaddrinfo(host, port, _c_family(self), self.type, self.proto)
            if not infos:
                raise gaierror(_socket.EAI_NONAME, "Name or service not known")
            resolved = infos[0][4]
            # IPv6: the resolved host and port, the caller's flowinfo and scope id if given.
            return (resolved[0], resolved[1], *address[2:])
        return address

    # -- life cycle ---------------------------------------------------------------------------

    def shutdown(self, how: int) -> None:
        """Like :meth:`socket.socket.shutdown`; reads after it return at once (EOF)."""
        _c_shutdown(self, how)
        st = self._st
        if st is not None:
            st.readable = st.hung_up = True

    def _forget_fd(self) -> None:
        """Tell the hubs the fd is going away: its waiters get EBADF, epoll forgets it.

        Every thread's hub is told (``notify_fd_closing``), before the fd is closed: a greenlet
        of another thread blocked on this socket (in ``recv``, ``accept``, ``select``...) is
        woken at once, where the stdlib's blocking call would wait for its timeout or for ever.
        """
        # A closed state, not None: a call that starts to wait from now on raises EBADF even
        # while the fd is still open (see _register), instead of registering it once more.
        self._st = _CLOSED_STATE
        _notify_fd_closing(_c.fileno(self))

    def _real_close(self, _ss: Any = _c) -> None:
        self._forget_fd()
        _ss.close(self)

    def detach(self) -> int:
        """Like :meth:`socket.socket.detach`; the fd goes back to the blocking mode its timeout
        implies, since its new owner will not wait on the hub."""
        self._forget_fd()
        fd = _c.fileno(self)
        if self._timeout is None and fd >= 0:
            try:
                _c_settimeout(self, None)
            except OSError:
                pass  # the fd was closed behind the socket's back: detach() never fails
            else:
                _LEFT_BLOCKING.add(fd)  # (see settimeout)
        return super().detach()

    # -- sendfile: the stdlib's sendfile() calls _sendfile_use_sendfile / _use_send above -------


def _wait_failed(cur: Any, value: Any) -> BaseException:
    """The error a spelled-out fd wait raises when it was not woken by readiness (see recv)."""
    if value is _PENDING:
        return _InvalidSwitchError(f"{cur!r} was resumed by a direct switch while it waited for IO")
    return value  # the fd was closed meanwhile: OSError(EBADF), see Hub.notify_closing


def _recv_into_args(buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[Any, int, int]:
    return buffer, nbytes, flags


def socketpair(
    family: int | None = None, type: int = _socket.SOCK_STREAM, proto: int = 0
) -> tuple[socket, socket]:
    """Cooperative :func:`socket.socketpair`."""
    if family is None:
        family = getattr(_socket, "AF_UNIX", _socket.AF_INET)
    a, b = _socket.socketpair(family, type, proto)
    return (
        socket(family, type, proto, a.detach()),
        socket(family, type, proto, b.detach()),
    )


def fromfd(fd: Any, family: int, type: int, proto: int = 0) -> socket:
    """Cooperative :func:`socket.fromfd`: a cooperative socket on a duplicate of ``fd``."""
    return socket(family, type, proto, _os.dup(fd))


def create_connection(
    address: tuple[Any, Any],
    timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
    source_address: Any = None,
    *,
    all_errors: bool = False,
) -> socket:
    """Cooperative :func:`socket.create_connection`: try each address the name resolves to.

    Raises the last error, or (Python 3.11+, ``all_errors=True``) an ExceptionGroup of all.
    """
    if all_errors and _sys.version_info < (3, 11):
        raise TypeError("create_connection() got an unexpected keyword argument 'all_errors'")
    host, port = address
    errors: list[OSError] = []
    for family, socktype, proto, _canonname, sockaddr in getaddrinfo(host, port, 0, SOCK_STREAM):
        sock = None
        try:
            sock = socket(family, socktype, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock._connect(sockaddr, True)  # connect() without resolving again: it is numeric
            errors.clear()
            return sock
        except OSError as exc:
            if not all_errors:
                errors.clear()
            errors.append(exc)
            if sock is not None:
                sock.close()
    if not errors:
        raise OSError("getaddrinfo returns an empty list")
    try:
        if all_errors:
            raise ExceptionGroup("create_connection failed", errors)
        raise errors[0]
    finally:
        errors = []


def create_server(
    address: tuple[Any, Any],
    *,
    family: int = _socket.AF_INET,
    backlog: int | None = None,
    reuse_port: bool = False,
    dualstack_ipv6: bool = False,
) -> socket:
    """Cooperative :func:`socket.create_server`: a listening cooperative socket."""
    if reuse_port and not hasattr(_socket, "SO_REUSEPORT"):
        raise ValueError("SO_REUSEPORT not supported on this platform")
    if dualstack_ipv6:
        if not _stdlib_socket.has_dualstack_ipv6():
            raise ValueError("dualstack_ipv6 not supported on this platform")
        if family != _socket.AF_INET6:
            raise ValueError("dualstack_ipv6 requires AF_INET6 family")
    sock = socket(family, _socket.SOCK_STREAM)
    try:
        if _os.name not in ("nt", "cygwin") and hasattr(_socket, "SO_REUSEADDR"):
            try:
                sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            except OSError:
                pass  # bind() will tell
        if reuse_port:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEPORT, 1)
        if _socket.has_ipv6 and family == _socket.AF_INET6:
            if dualstack_ipv6:
                sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 0)
            elif hasattr(_socket, "IPV6_V6ONLY") and hasattr(_socket, "IPPROTO_IPV6"):
                sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 1)
        try:
            sock.bind(address)
        except OSError as err:
            raise OSError(
                err.errno, f"{err.strerror} (while attempting to bind on address {address!r})"
            ) from None
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except OSError:
        sock.close()
        raise
