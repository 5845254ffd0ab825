"""Servers on the hub: :class:`StreamServer` (TCP, optionally TLS), :class:`DatagramServer` (UDP).

Both take gevent's arguments and keep its semantics, so code moves over by changing an import:

- ``listener`` is an address (``("127.0.0.1", 8000)``, ``":8000"``, ``"host:port"``) or a bound
  socket (listening already, or not yet: ``start()`` calls ``listen``).
- ``handle(socket, address)`` (``handle(data, address)`` for datagrams) runs once per connection;
  a subclass may define ``handle`` instead of passing it.
- ``spawn`` decides where it runs: ``"default"`` a new greenlet per connection (tracked, so
  ``stop`` can wait for them), an ``int`` a :class:`hub.Pool` of that size, a Pool or Group of
  yours, any callable ``spawn(func, *args)``, or ``None`` (in the accepting greenlet itself, one
  connection at a time). With a bounded Pool, accepting pauses while the pool is full: the
  kernel's backlog then holds new connections, which is the back-pressure a server wants.

The accept loop
---------------
One greenlet accepts: ``accept()`` tries the system call first and waits on the hub only on
EAGAIN, so a burst of connections is drained without extra switches. Errors that mean "the
process or system is out of something" (EMFILE, ENFILE, ENOBUFS, ENOMEM) would come back at once
if retried: the loop sleeps, doubling the pause from 10 ms up to 1 s, so the server neither spins
on a full fd table nor dies; it resumes when an accept succeeds. Errors about one connection that
died before we took it (ECONNABORTED, EPROTO, ...) are skipped. Closing the listener ends the loop.

TLS
---
``ssl_context=`` or gevent's keyword arguments (``keyfile``, ``certfile``, ``ca_certs``,
``cert_reqs``, ``ssl_version``, ``ciphers``, ``suppress_ragged_eofs``,
``do_handshake_on_connect``) make each accepted socket a cooperative ``hub.ssl.SSLSocket``. The
wrapping and handshake happen in the connection's own greenlet, never in the accept loop, so one
slow or hostile handshake does not hold up the others; a failed handshake closes that connection
only.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from typing import Any

from greenlet import GreenletExit

from . import socket as _socket
from . import ssl as _hub_ssl
from ._event import Event
from ._greenlet import Greenlet, sleep
from .pool import Group, Pool

__all__ = ["BaseServer", "DatagramServer", "StreamServer"]

# accept() failed for want of a resource: back off and retry.
_RESOURCE_ERRORS = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, getattr(errno, "ENOSR", -1)}
)
# accept() failed for this connection only: take the next one.
_CONNECTION_ERRORS = frozenset(
    {
        errno.ECONNABORTED,
        errno.EPROTO,
        errno.EPERM,
        errno.EINTR,
        errno.EAGAIN,
        errno.ECONNRESET,
        getattr(errno, "ENOPROTOOPT", -1),
        getattr(errno, "EHOSTUNREACH", -1),
        getattr(errno, "ENETUNREACH", -1),
        getattr(errno, "ENONET", -1),
        getattr(errno, "EHOSTDOWN", -1),
        getattr(errno, "ENETDOWN", -1),
        getattr(errno, "EOPNOTSUPP", -1),
    }
)
_BACKOFF_MIN = 0.01
_BACKOFF_MAX = 1.0

_SSL_ARGS = frozenset(
    {
        "keyfile",
        "certfile",
        "ca_certs",
        "cert_reqs",
        "ssl_version",
        "ciphers",
        "suppress_ragged_eofs",
        "do_handshake_on_connect",
        "server_side",
        "ssl_context",
    }
)


def parse_address(address: Any) -> tuple[int, Any]:
    """``(family, address)`` for a tuple, ``":port"``, ``"host:port"`` or a port number.

    Raises ValueError on anything else.
    """
    if isinstance(address, tuple):
        family = _socket.AF_INET6 if ":" in str(address[0]) else _socket.AF_INET
        return family, address
    if isinstance(address, int):
        return _socket.AF_INET, ("", address)
    if isinstance(address, str):
        host, sep, port = address.rpartition(":")
        if sep and port.isdigit():
            host = host.strip("[]")
            family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
            return family, (host, int(port))
        if address.isdigit():
            return _socket.AF_INET, ("", int(address))
    raise ValueError(f"expected ('host', port), ':port' or 'host:port', not {address!r}")


def _cooperative(sock: Any) -> Any:
    """``sock`` as a cooperative socket: taken over (detached) if it is a plain stdlib one."""
    if isinstance(sock, _socket.socket):
        return sock
    timeout = sock.gettimeout()
    ours = _socket.socket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    ours.settimeout(timeout)
    return ours


class BaseServer:
    """What :class:`StreamServer` and :class:`DatagramServer` share: spawning, start and stop."""

    #: How long ``stop()`` lets handlers finish before it kills them (seconds).
    stop_timeout: float = 1.0
    #: The backlog ``listen()`` gets when the server creates or readies the listener.
    backlog: int = 256

    def __init__(
        self,
        listener: Any,
        handle: Callable[..., Any] | None = None,
        spawn: Any = "default",
    ) -> None:
        self._stop_event = Event()
        self._stop_event.set()
        self._loop: Greenlet[Any] | None = None
        self._closed = False
        if handle is not None:
            self.handle = handle  # type: ignore[method-assign]
        self.pool: Group | None = None
        self._spawn: Callable[..., Any] | None
        self.set_spawn(spawn)
        if hasattr(listener, "fileno") and hasattr(listener, "family"):
            self.socket: Any = _cooperative(listener)
            self.address = self.socket.getsockname()
            self.family = self.socket.family
        else:
            self.socket = None
            self.family, self.address = parse_address(listener)

    def set_spawn(self, spawn: Any) -> None:
        """Choose where handlers run (see the module docstring for the choices)."""
        if spawn == "default":
            self.pool = Group()
            self._spawn = self.pool.spawn
        elif spawn is None:
            self.pool = None
            self._spawn = None
        elif isinstance(spawn, bool):
            raise TypeError(f"spawn must be 'default', None, an int, a Pool or callable: {spawn!r}")
        elif isinstance(spawn, int):
            self.pool = Pool(spawn)
            self._spawn = self.pool.spawn
        elif isinstance(spawn, Group):
            self.pool = spawn
            self._spawn = spawn.spawn
        elif callable(spawn):
            self.pool = None
            self._spawn = spawn
        else:
            raise TypeError(f"spawn must be 'default', None, an int, a Pool or callable: {spawn!r}")

    def handle(self, *args: Any) -> None:
        """Serve one connection (or datagram); pass ``handle=`` or override this."""
        raise NotImplementedError(f"{type(self).__name__} needs a handle function")

    # -- where it listens -------------------------------------------------------------------------

    @property
    def server_host(self) -> str:
        """The host the server is bound to."""
        return self.address[0]

    @property
    def server_port(self) -> int:
        """The port the server is bound to (the real one once port 0 was bound)."""
        return self.address[1]

    @property
    def started(self) -> bool:
        """True between ``start()`` and ``stop()``/``close()``."""
        return not self._stop_event.is_set()

    @property
    def closed(self) -> bool:
        """True once the listener is closed."""
        return self._closed

    def __repr__(self) -> str:
        state = "started" if self.started else "closed" if self._closed else "stopped"
        return f"<{type(self).__name__} at {id(self):#x} {self.address!r} {state}>"

    # -- lifecycle --------------------------------------------------------------------------------

    def init_socket(self) -> None:
        """Create (or ready) the listening socket; ``start()`` calls it."""
        raise NotImplementedError

    def start(self) -> None:
        """Bind and listen if needed, then accept in a background greenlet; returns at once."""
        if self.started:
            raise RuntimeError(f"{self!r} is already started")
        if self._closed:
            raise RuntimeError(f"{self!r} is closed: make a new server")
        self.init_socket()
        self.address = self.socket.getsockname()
        self._stop_event.clear()
        self._loop = Greenlet.spawn(self._serve_loop)

    def serve_forever(self, stop_timeout: float | None = None) -> None:
        """Start if needed and serve until ``stop()``; a kill or Ctrl-C stops the server."""
        if not self.started:
            self.start()
        try:
            self._stop_event.wait()
        finally:
            if self.started:
                self.stop(stop_timeout)

    def close(self) -> None:
        """Stop accepting and close the listener; handlers still running go on."""
        self._closed = True
        self._stop_event.set()
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.kill(block=False)
        if self.socket is not None:
            self.socket.close()

    def stop(self, timeout: float | None = None) -> None:
        """Close, let handlers finish for up to ``timeout`` (``stop_timeout``), then kill them."""
        self.close()
        if timeout is None:
            timeout = self.stop_timeout
        if self.pool is not None and not self.pool.join(timeout):
            self.pool.kill(block=True, timeout=timeout)

    def __enter__(self) -> BaseServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- the loop ---------------------------------------------------------------------------------

    def _serve_loop(self) -> None:
        raise NotImplementedError

    def _wait_for_room(self) -> None:
        pool = self.pool
        if pool is not None and pool.full():
            pool.wait_available()

    def _dispatch(self, *args: Any) -> None:
        spawn = self._spawn
        if spawn is None:
            self._run_handler(*args)
        else:
            spawn(self._run_handler, *args)

    def _run_handler(self, *args: Any) -> None:
        raise NotImplementedError

    def _backoff(self, delay: float) -> float:
        sleep(delay)
        return min(delay * 2, _BACKOFF_MAX)

    def handle_error(self, args: tuple[Any, ...], exc: BaseException) -> None:
        """A handler raised ``exc``: print it to stderr (override to log elsewhere)."""
        import traceback

        print(f"{self!r}: error in handler for {args[-1]!r}:", file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


class StreamServer(BaseServer):
    """A TCP server calling ``handle(socket, address)`` for each connection, in its own greenlet.

    The socket is closed when ``handle`` returns. See the module docstring for the arguments.
    """

    def __init__(
        self,
        listener: Any,
        handle: Callable[..., Any] | None = None,
        backlog: int | None = None,
        spawn: Any = "default",
        **ssl_args: Any,
    ) -> None:
        unknown = set(ssl_args) - _SSL_ARGS
        if unknown:
            raise TypeError(f"StreamServer got unexpected keyword arguments {sorted(unknown)}")
        super().__init__(listener, handle, spawn)
        if backlog is not None:
            self.backlog = backlog
        self.ssl_context = self._make_ssl_context(ssl_args)
        self._ssl_wrap_args = {
            "server_side": True,
            "do_handshake_on_connect": ssl_args.get("do_handshake_on_connect", True),
            "suppress_ragged_eofs": ssl_args.get("suppress_ragged_eofs", True),
        }

    @staticmethod
    def _make_ssl_context(args: dict[str, Any]) -> Any:
        context = args.get("ssl_context")
        certfile = args.get("certfile")
        if context is None and certfile is None and args.get("keyfile") is None:
            return None
        if context is None:
            if certfile is None:
                raise ValueError("certfile must be specified with keyfile")
            context = _hub_ssl.SSLContext(args.get("ssl_version", _hub_ssl.PROTOCOL_TLS_SERVER))
            context.load_cert_chain(certfile, args.get("keyfile"))
            cert_reqs = args.get("cert_reqs", _hub_ssl.CERT_NONE)
            if args.get("ca_certs"):
                context.load_verify_locations(args["ca_certs"])
            context.verify_mode = cert_reqs
            if args.get("ciphers"):
                context.set_ciphers(args["ciphers"])
        return context

    @property
    def ssl_enabled(self) -> bool:
        """True if connections are TLS."""
        return self.ssl_context is not None

    def init_socket(self) -> None:
        if self.socket is None:
            self.socket = _socket.create_server(
                self.address, family=self.family, backlog=self.backlog, reuse_port=False
            )
        else:
            try:
                self.socket.listen(self.backlog)
            except OSError:
                pass  # a socket the caller readied differently: use it as it is
        # Blocking mode, as the loop wants: accept() waits on the hub, never raises EAGAIN.
        self.socket.settimeout(None)

    def _serve_loop(self) -> None:
        accept = self.socket.accept
        delay = _BACKOFF_MIN
        while True:
            self._wait_for_room()
            try:
                conn, address = accept()
            except OSError as exc:
                if self._closed or exc.errno == errno.EBADF:
                    return
                if exc.errno in _RESOURCE_ERRORS:
                    delay = self._backoff(delay)
                    continue
                if exc.errno in _CONNECTION_ERRORS:
                    continue
                self.handle_error((self.socket, self.address), exc)
                delay = self._backoff(delay)
                continue
            delay = _BACKOFF_MIN
            conn.setblocking(True)
            self._dispatch(conn, address)

    def wrap_socket(self, conn: Any) -> Any:
        """The connection as the handler gets it: TLS-wrapped if the server is TLS."""
        context = self.ssl_context
        if context is None:
            return conn
        if context.sslsocket_class is _hub_ssl.SSLSocket:
            return context.wrap_socket(conn, **self._ssl_wrap_args)
        # A context of the unpatched stdlib would hand out a blocking SSLSocket. Build ours the
        # way SSLContext.wrap_socket builds its class's, leaving the caller's context as it is.
        # (``SSLSocket._create`` is the stdlib's private constructor, absent from its stubs.)
        return _hub_ssl.SSLSocket._create(  # type: ignore[attr-defined]
            conn, context=context, **self._ssl_wrap_args
        )

    def _run_handler(self, conn: Any, address: Any) -> None:
        try:
            try:
                conn = self.wrap_socket(conn)
            except OSError:
                return  # a failed handshake concerns this client only
            self.handle(conn, address)
        except GreenletExit:
            raise
        except Exception as exc:
            self.handle_error((conn, address), exc)
        finally:
            conn.close()


class DatagramServer(BaseServer):
    """A UDP server calling ``handle(data, address)`` for each datagram; reply with ``sendto``."""

    #: The largest datagram read.
    max_datagram: int = 65535

    def init_socket(self) -> None:
        if self.socket is None:
            sock = _socket.socket(self.family, _socket.SOCK_DGRAM)
            try:
                sock.bind(self.address)
            except BaseException:
                sock.close()
                raise
            self.socket = sock

    def sendto(self, data: bytes, address: Any) -> int:
        """Send ``data`` to ``address`` from the server's socket."""
        return self.socket.sendto(data, address)

    def _serve_loop(self) -> None:
        recvfrom = self.socket.recvfrom
        size = self.max_datagram
        delay = _BACKOFF_MIN
        while True:
            self._wait_for_room()
            try:
                data, address = recvfrom(size)
            except OSError as exc:
                if self._closed or exc.errno == errno.EBADF:
                    return
                if exc.errno in _RESOURCE_ERRORS:
                    delay = self._backoff(delay)
                continue  # e.g. ECONNREFUSED from an ICMP error on an earlier sendto
            delay = _BACKOFF_MIN
            self._dispatch(data, address)

    def _run_handler(self, data: bytes, address: Any) -> None:
        try:
            self.handle(data, address)
        except GreenletExit:
            raise
        except Exception as exc:
            self.handle_error((data, address), exc)
