"""A cooperative ssl module: the stdlib's API, with every TLS operation waiting on the hub.

How it works
------------
``hub.ssl.SSLSocket`` derives from the stdlib's ``ssl.SSLSocket`` first and from the cooperative
``hub.socket.socket`` second. So ``isinstance(s, ssl.SSLSocket)`` holds, every stdlib method we
do not override keeps working, and what the stdlib class hands to ``super()`` (plain-text
``recv``/``send`` before a handshake or after ``unwrap()``, ``connect``, ``accept``) is the
cooperative socket's.

A cooperative socket's fd is always non-blocking and its C-level timeout is always 0.0, so the
``_ssl`` C object never blocks either: where OpenSSL would wait, it raises SSLWantReadError or
SSLWantWriteError. ``read``, ``write``, ``do_handshake`` and ``unwrap`` are therefore loops around
the stdlib's own calls: try; on SSLWantReadError wait until the fd is readable, on
SSLWantWriteError until it is writable (either can happen in any operation: a TLS read may have
to write during a renegotiation or key update), and try again, with one deadline for the whole
call. What the stdlib decides is kept: EOF and ragged EOF (``suppress_ragged_eofs``), error
types and texts, non-blocking mode (timeout 0.0) re-raising the SSLWant* error, and the texts of
its timeouts.

SSL reads always try first and never consult the socket's ``readable`` flag (see
``hub.socket``): OpenSSL reads the fd itself and may hold decrypted data, or half a record, the
flag knows nothing about.

``SSLContext`` is the stdlib's class with ``sslsocket_class`` set to ours; the functions that
build contexts return it with the stdlib's exact settings. ``monkeypatch.patch_ssl()`` does *not*
replace ``ssl.SSLContext``: it sets ``sslsocket_class`` on the stdlib's class itself, so every
context, made before or after patching, gives cooperative sockets (see docs/ssl.md).
Everything that does not block (``SSLObject``, ``MemoryBIO``, constants, errors, certificate
helpers) is the stdlib's own object, re-exported as is.
"""

from __future__ import annotations

import _socket
import errno as _errno
import os as _os
import ssl as _stdlib_ssl
import sys as _sys
import warnings as _warnings
from ssl import *
from typing import Any

from . import socket as _hub_socket

# ssl defines no __all__: its public names are everything without a leading underscore, modules
# excepted. Ours are the same names, those below being cooperative.
__all__ = sorted(
    {
        *(
            name
            for name, value in vars(_stdlib_ssl).items()
            if not name.startswith("_") and type(value) is not type(_stdlib_ssl)
        ),
        "SSLContext",
        "SSLSocket",
        "create_connection",
        "create_default_context",
        "get_server_certificate",
        "socket",
    }
)

_StdlibSSLSocket = _stdlib_ssl.SSLSocket
_StdlibSSLContext = _stdlib_ssl.SSLContext
_WantRead = _stdlib_ssl.SSLWantReadError
_WantWrite = _stdlib_ssl.SSLWantWriteError
_WANT = (_WantRead, _WantWrite)
_stdlib_read = _StdlibSSLSocket.read
_stdlib_write = _StdlibSSLSocket.write
_stdlib_unwrap = _StdlibSSLSocket.unwrap
_GLOBAL_DEFAULT_TIMEOUT: Any = _hub_socket._GLOBAL_DEFAULT_TIMEOUT
_CLOSED_IS_EBADF = _sys.version_info >= (3, 13)

# The names ssl took from socket, cooperative here as ssl's own become after patch_all().
socket = _hub_socket.socket
create_connection = _hub_socket.create_connection

# The stdlib's timeout texts (its _ssl module raises these from C).
_READ_TIMED_OUT = "The read operation timed out"
_WRITE_TIMED_OUT = "The write operation timed out"
_handshake_timeout_text: list[str] = []


def _handshake_timed_out() -> TimeoutError:
    """The stdlib's handshake timeout, text included.

    Its text names a line of ``_ssl.c`` ("_ssl.c:989: The handshake operation timed out"), which
    differs between Python releases; the first time we need it we let the C code time out a
    handshake on a socketpair after a microsecond, and keep its words.
    """
    if not _handshake_timeout_text:
        text = "The handshake operation timed out"
        try:
            # Plain stdlib sockets (the C object alone cannot be wrapped: no weak references).
            pair = _socket.socketpair()
            a, b = (_hub_socket._original_socket(fileno=s.detach()) for s in pair)
            try:
                ctx = _StdlibSSLContext(_stdlib_ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = _stdlib_ssl.CERT_NONE
                a.settimeout(1e-6)
                sslobj = ctx._wrap_socket(a, False, None)  # type: ignore[attr-defined]
                sslobj.do_handshake()
            except TimeoutError as exc:
                text = str(exc)
            finally:
                a.close()
                b.close()
        except Exception:
            pass
        _handshake_timeout_text.append(text)
    return TimeoutError(_handshake_timeout_text[0])


def _eof_error() -> SSLEOFError:
    return SSLEOFError(SSL_ERROR_EOF, "EOF occurred in violation of protocol")


def _write_eof() -> int:
    """What the stdlib's blocking write raises once another thread closed the socket under it
    (see SSLSocket._read_eof)."""
    if _CLOSED_IS_EBADF:
        raise OSError(_errno.EBADF, _os.strerror(_errno.EBADF))
    raise _eof_error()


def _read_on(sock: Any, sslobj: Any, len: int, buffer: Any) -> Any:
    """The stdlib's ``SSLSocket.read`` on the SSL object the call began with (see _ssl_retry)."""
    try:
        if buffer is not None:
            return sslobj.read(len, buffer)
        return sslobj.read(len)
    except SSLError as x:
        if x.args[0] == SSL_ERROR_EOF and sock.suppress_ragged_eofs:
            return 0 if buffer is not None else b""
        raise


class SSLSocket(_StdlibSSLSocket, _hub_socket.socket):  # type: ignore[misc]
    """A cooperative :class:`ssl.SSLSocket`: same API, same errors; TLS calls let other greenlets
    run. Made by ``SSLContext.wrap_socket`` (hub.ssl's, or the stdlib's once patched)."""

    @classmethod
    def _create(cls, sock: Any, do_handshake_on_connect: bool = True, **kwargs: Any) -> Any:
        # The stdlib's constructor, with the handshake done here instead: its own version closes
        # the new socket only on OSError/ValueError (until 3.13), so a greenlet killed or timed
        # out (GreenletExit, hub.Timeout) in the handshake would leak the fd, which wrap_socket
        # took away from ``sock``. Same checks, same order, same errors otherwise. The stdlib
        # (SSLContext.wrap_socket) passes every argument by keyword; the others go on unchanged.
        self = super()._create(sock, do_handshake_on_connect=False, **kwargs)
        self.do_handshake_on_connect = do_handshake_on_connect
        if do_handshake_on_connect and self._connected:
            try:
                if self._timeout == 0.0:
                    raise ValueError(
                        "do_handshake_on_connect should not be specified for non-blocking sockets"
                    )
                self.do_handshake()
            except BaseException:
                self.close()
                raise
        return self

    # -- the retry loop -------------------------------------------------------------------------

    def _ssl_retry(
        self,
        exc: BaseException,
        fn: Any,
        args: tuple[Any, ...],
        timeout: float | None,
        text: Any,
        on_close: Any = None,
    ) -> Any:
        """The slow path of every TLS operation: ``fn(*args)`` raised SSLWant* ``exc``.

        Waits in the direction OpenSSL asked for and tries again until it succeeds; ``timeout``
        (None: forever) covers the whole call. ``text`` is the TimeoutError's message; None means
        the stdlib's read or write text, after the direction of the last wait (as unwrap's).

        ``fn`` works on the SSL object the call began with (``_read_on``, ``_write_on``...), as
        the stdlib's blocking C call does: another thread's ``shutdown()`` drops
        ``self._sslobj`` but must not turn this call's retry into a ValueError. If the socket is
        closed meanwhile (we are woken with EBADF, or find our FdState closed), the call ends
        with ``on_close()``: the stdlib's outcome for that operation, without touching the fd
        again (OpenSSL would use the old number, which may already name another file).
        """
        write = type(exc) is _WantWrite
        if timeout == 0.0:
            raise exc
        try:
            hub, st = self._fd_state()
            wait_fd = hub.wait_fd
            clock = hub.clock
            deadline = None if timeout is None else clock() + timeout
            while True:
                if deadline is None:
                    wait_fd(st, write, None)
                else:
                    remaining = deadline - clock()
                    if remaining <= 0 or not wait_fd(st, write, remaining):
                        if text is None:
                            text = _WRITE_TIMED_OUT if write else _READ_TIMED_OUT
                        if callable(text):
                            raise text()
                        raise TimeoutError(text)
                if st.hub is None:  # closed while we waited; see the docstring
                    raise OSError(_errno.EBADF, _os.strerror(_errno.EBADF))
                try:
                    return fn(*args)
                except _WantRead:
                    write = False
                except _WantWrite:
                    write = True
        except OSError as err:
            if err.errno != _errno.EBADF or on_close is None or isinstance(err, SSLError):
                raise
            return on_close()

    # What the stdlib's blocking read answers once another thread closed the socket under it:
    # up to 3.12 OpenSSL sees the end of the stream, a ragged EOF; from 3.13 on, _ssl notices
    # the closed socket and raises OSError(EBADF) (measured: tests/test_closing.py).
    def _read_eof(self) -> bytes:
        if _CLOSED_IS_EBADF:
            raise OSError(_errno.EBADF, _os.strerror(_errno.EBADF))
        if self.suppress_ragged_eofs:
            return b""
        raise _eof_error()

    def _read_eof_into(self) -> int:
        self._read_eof()  # raises, or returns b'' for a suppressed ragged EOF
        return 0

    # -- TLS operations -------------------------------------------------------------------------

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Cooperative :meth:`ssl.SSLSocket.read`: up to ``len`` bytes (into ``buffer`` if given);
        ``b''`` (0) at EOF, ragged EOF included unless ``suppress_ragged_eofs`` is False."""
        sslobj = self._sslobj
        try:
            return _stdlib_read(self, len, buffer)
        except _WANT as exc:
            return self._ssl_retry(
                exc,
                _read_on,
                (self, sslobj, len, buffer),
                self._timeout,
                _READ_TIMED_OUT,
                self._read_eof if buffer is None else self._read_eof_into,
            )

    def write(self, data: Any) -> int:
        """Cooperative :meth:`ssl.SSLSocket.write`: all of ``data`` (OpenSSL writes whole
        buffers), or an error; the timeout bounds the whole call."""
        sslobj = self._sslobj
        try:
            return _stdlib_write(self, data)
        except _WANT as exc:
            return self._ssl_retry(
                exc, sslobj.write, (data,), self._timeout, _WRITE_TIMED_OUT, _write_eof
            )

    def do_handshake(self, block: bool = False) -> None:
        """Cooperative :meth:`ssl.SSLSocket.do_handshake`. In non-blocking mode it raises
        SSLWantReadError/SSLWantWriteError unless ``block`` is true, as the stdlib's."""
        self._check_connected()
        timeout = self._timeout
        if block and timeout == 0.0:
            timeout = None
        sslobj = self._sslobj
        try:
            sslobj.do_handshake()
        except _WANT as exc:
            self._ssl_retry(exc, sslobj.do_handshake, (), timeout, _handshake_timed_out)

    def unwrap(self) -> Any:
        """Cooperative :meth:`ssl.SSLSocket.unwrap`: the TLS shutdown; returns the socket,
        now in plain text."""
        sslobj = self._sslobj
        if not sslobj:
            return _stdlib_unwrap(self)  # raises the stdlib's ValueError
        try:
            result = sslobj.shutdown()
        except _WANT as exc:
            result = self._ssl_retry(exc, sslobj.shutdown, (), self._timeout, None)
        self._sslobj = None
        return result

    def send(self, data: Any, flags: int = 0) -> int:
        """Cooperative :meth:`ssl.SSLSocket.send` (plain :meth:`socket.send` when unwrapped)."""
        if self._sslobj is not None and not flags:
            return self.write(data)
        return super().send(data, flags)  # plain text, or the stdlib's ValueError for flags

    # recv and sendall are the hottest calls: they go straight to read/write (the stdlib's
    # versions reach them through one or two more Python calls each). recv_into is the
    # stdlib's, on top of our read.

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """Cooperative :meth:`ssl.SSLSocket.recv` (plain :meth:`socket.recv` when unwrapped)."""
        if self._sslobj is None or flags:
            return super().recv(buflen, flags)  # plain text, or the stdlib's ValueError for flags
        sslobj = self._sslobj
        try:
            return _stdlib_read(self, buflen, None)  # type: ignore[no-any-return]
        except _WANT as exc:
            return self._ssl_retry(  # type: ignore[no-any-return]
                exc,
                _read_on,
                (self, sslobj, buflen, None),
                self._timeout,
                _READ_TIMED_OUT,
                self._read_eof,
            )

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Cooperative :meth:`ssl.SSLSocket.sendall` (plain :meth:`socket.sendall` when
        unwrapped). Each write has its own deadline, as in the stdlib."""
        if self._sslobj is None or flags:
            return super().sendall(data, flags)  # type: ignore[no-any-return]
        sslobj = self._sslobj
        try:
            sent = _stdlib_write(self, data)
        except _WANT as exc:
            sent = self._ssl_retry(
                exc, sslobj.write, (data,), self._timeout, _WRITE_TIMED_OUT, _write_eof
            )
        # OpenSSL writes the whole buffer (Python does not enable partial writes); should a
        # write ever come back short, the stdlib's loop sends the rest.
        if sent != (len(data) if type(data) is bytes else memoryview(data).nbytes):
            with memoryview(data) as view, view.cast("B") as octets:
                super().sendall(octets[sent:])
        return None

    def _sendfile_use_send(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        # What the stdlib's sendfile() does on a TLS socket: read the file and send it. Its own
        # version waits with a selector, which blocks the thread unless selectors is patched;
        # our send waits on the hub by itself.
        self._check_sendfile_params(file, offset, count)  # type: ignore[attr-defined]
        if self._timeout == 0.0:
            raise ValueError("non-blocking sockets are not supported")
        if offset:
            file.seek(offset)
        total = 0
        try:
            while True:
                size = 65536 if not count else min(count - total, 65536)
                if size <= 0:
                    break
                data = file.read(size)
                if not data:
                    break
                self.sendall(data)
                total += len(data)
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)


class SSLContext(_StdlibSSLContext):
    """:class:`ssl.SSLContext` whose ``wrap_socket`` returns cooperative :class:`SSLSocket`."""

    sslsocket_class = SSLSocket  # type: ignore[assignment]


def _ours(context: _StdlibSSLContext) -> SSLContext:
    # The stdlib builds its contexts with its own class. Rather than repeat its settings (which
    # change between releases), take its context and make it ours: same C object, same
    # settings; the class only decides which socket class wrap_socket() builds.
    context.__class__ = SSLContext
    return context  # type: ignore[return-value]


def create_default_context(
    purpose: Any = Purpose.SERVER_AUTH,
    *,
    cafile: Any = None,
    capath: Any = None,
    cadata: Any = None,
) -> SSLContext:
    """:func:`ssl.create_default_context`, returning a cooperative :class:`SSLContext`."""
    return _ours(
        _stdlib_ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
    )


def _create_unverified_context(*args: Any, **kwargs: Any) -> SSLContext:
    """``ssl._create_unverified_context`` (what stdlib modules use), cooperative."""
    return _ours(_stdlib_ssl._create_unverified_context(*args, **kwargs))  # type: ignore[attr-defined]


_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context


def get_server_certificate(
    addr: tuple[str, int],
    ssl_version: int = PROTOCOL_TLS_CLIENT,
    ca_certs: str | None = None,
    timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
) -> str:
    """Cooperative :func:`ssl.get_server_certificate`: the server's certificate, PEM-encoded."""
    host = addr[0]
    verify = CERT_REQUIRED if ca_certs is not None else CERT_NONE
    context = _create_stdlib_context(ssl_version, cert_reqs=verify, cafile=ca_certs)
    with (
        create_connection(addr, timeout=timeout) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(True)
    return DER_cert_to_PEM_cert(der)


if hasattr(_stdlib_ssl, "wrap_socket"):  # removed in Python 3.12
    __all__ = sorted({*__all__, "wrap_socket"})

    def wrap_socket(
        sock: Any,
        keyfile: Any = None,
        certfile: Any = None,
        server_side: bool = False,
        cert_reqs: Any = CERT_NONE,
        ssl_version: Any = PROTOCOL_TLS,
        ca_certs: Any = None,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        ciphers: Any = None,
    ) -> SSLSocket:
        """Cooperative :func:`ssl.wrap_socket` (deprecated by the stdlib; Python < 3.12)."""
        _warnings.warn(
            "ssl.wrap_socket() is deprecated, use SSLContext.wrap_socket()",
            category=DeprecationWarning,
            stacklevel=2,
        )
        if server_side and not certfile:
            raise ValueError("certfile must be specified for server-side operations")
        if keyfile and not certfile:
            raise ValueError("certfile must be specified")
        context = SSLContext(ssl_version)
        context.verify_mode = cert_reqs
        if ca_certs:
            context.load_verify_locations(ca_certs)
        if certfile:
            context.load_cert_chain(certfile, keyfile)
        if ciphers:
            context.set_ciphers(ciphers)
        return context.wrap_socket(  # type: ignore[return-value]
            sock=sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
        )
