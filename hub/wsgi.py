"""A WSGI (PEP 3333) HTTP/1.1 server on the hub: :class:`WSGIServer`, one greenlet per connection.

``WSGIServer(listener, application, log=..., error_log=..., handler_class=..., environ=...,
**ssl_args)`` is a :class:`hub.server.StreamServer` whose connections are served by
:class:`WSGIHandler`: HTTP/1.0 and 1.1, keep-alive and pipelining, chunked request bodies,
chunked responses when the application gives no Content-Length, ``Expect: 100-continue``
(answered on the first read of the body), HEAD without a body, ``wsgi.input`` streaming with the
declared length enforced, ``wsgi.file_wrapper`` with ``sendfile``, the ``write()`` callable,
``start_response`` with ``exc_info``, an access log in the common log format, an idle keep-alive
timeout, limits on the request line and on the header fields (414, 431), and ``Connection:
upgrade`` handing the raw socket (``environ["hub.socket"]``) to the application.

Writing responses
-----------------
A response goes out in as few ``send`` calls as possible, and TCP_NODELAY is set on every
connection. With the Nagle algorithm on, a response written as headers then body stalls: the
second segment waits for the ACK of the first, which the client delays (up to 40 ms on Linux)
because it has nothing to send yet. So a body given as a list (what most frameworks return) is
joined with the headers into one ``sendall``; a streamed body sends the headers together with its
first non-empty chunk; the last chunk of a chunked response carries the terminating zero chunk.

Bad input
---------
What the client sent wrong gets a clear 4xx (or 501/505) with ``Connection: close`` and the
connection is closed: the parser (hub._http) refuses what a lenient parser might read
differently (see there). An exception from the application gets a 500 if no header was sent yet
(else the connection is closed, the only way left to tell the client the body is incomplete) and
its traceback goes to ``error_log``. Either way the server goes on serving other connections.
"""

from __future__ import annotations

import os
import select as _select
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

from greenlet import getcurrent

from . import socket as _socket
from ._core import get_hub, poll_now
from ._greenlet import Greenlet, sleep
from ._http import HTTPError, parse_chunk_size, parse_head
from .server import StreamServer

__all__ = ["FileWrapper", "Input", "WSGIHandler", "WSGIServer"]

_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_BLOCK = 65536
# Bodies up to this size are sent in the same sendall as the headers (copying is cheaper than a
# second system call below it).
_JOIN_LIMIT = 262144
# What is left of a request body the application did not read is read and dropped, so the
# connection can be kept alive, up to this many bytes; beyond, the connection is closed.
_DRAIN_LIMIT = 1 << 20


class _Date:
    """The Date header's value, formatted once per second."""

    __slots__ = ("second", "value")

    def __init__(self) -> None:
        self.second = -1
        self.value = ""

    def get(self) -> str:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.value = formatdate(now, usegmt=True)
        return self.value


_date = _Date()


class FileWrapper:
    """``wsgi.file_wrapper``: iterates a file in blocks; the server sends it with ``sendfile``.

    The sendfile path is taken when the application returns the wrapper itself, the file has a
    ``fileno()``, and the connection is not TLS; otherwise the blocks are read and sent.
    """

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            data = read(self.blksize)
            if not data:
                return
            yield data


class Input:
    """``wsgi.input``: the request body, read from the connection as the application asks.

    At most ``Content-Length`` bytes are returned (then b""), or the de-chunked body of a
    chunked request. A client that closes or stalls before the body is complete makes the read
    raise :class:`hub._http.HTTPError` (400) or TimeoutError.
    """

    __slots__ = ("_buf", "_chunk_left", "_chunked", "_continue", "_pending", "_remaining", "_sock")

    def __init__(
        self, sock: Any, buf: bytes, length: int | None, expect_continue: bool = False
    ) -> None:
        self._sock = sock
        self._buf = buf  # raw bytes read from the connection and not consumed yet
        self._pending = b""  # decoded body bytes pushed back by readline
        self._chunked = length is None
        self._remaining = 0 if length is None else length
        self._chunk_left = 0
        self._continue = expect_continue

    # -- raw connection bytes -------------------------------------------------------------------

    def _recv(self) -> bytes:
        if self._continue:
            self._continue = False
            self._sock.sendall(_CONTINUE)
        data = self._sock.recv(_BLOCK)
        if not data:
            raise HTTPError(400, "the client closed the connection before the end of the body")
        return data

    def _raw_line(self, limit: int = 8192) -> bytes:
        buf = self._buf
        while True:
            end = buf.find(b"\r\n")
            if end >= 0:
                self._buf = buf[end + 2 :]
                return buf[:end]
            if len(buf) > limit:
                raise HTTPError(400, "a chunk size or trailer line is too long")
            buf += self._recv()
            self._buf = buf

    def _raw(self, n: int) -> bytes:
        """Up to ``n`` (at least one) raw bytes."""
        buf = self._buf
        if not buf:
            buf = self._recv()
        if len(buf) <= n:
            self._buf = b""
            return buf
        self._buf = buf[n:]
        return buf[:n]

    # -- body bytes -----------------------------------------------------------------------------

    def _read_some(self, n: int) -> bytes:
        """Up to ``n`` body bytes, at least one unless the body ended."""
        if self._pending:
            data = self._pending[:n]
            self._pending = self._pending[n:]
            return data
        if not self._chunked:
            if self._remaining <= 0:
                return b""
            data = self._raw(min(n, self._remaining))
            self._remaining -= len(data)
            return data
        if self._chunk_left == 0:
            if self._remaining < 0:
                return b""  # the last chunk was read
            if self._remaining > 0 and self._raw_line() != b"":
                raise HTTPError(400, "chunk data not followed by CRLF")
            size = parse_chunk_size(self._raw_line())
            if size == 0:
                self._read_trailers()
                self._remaining = -1
                return b""
            self._remaining = 1  # a chunk was started: its CRLF comes after its data
            self._chunk_left = size
        data = self._raw(min(n, self._chunk_left))
        self._chunk_left -= len(data)
        return data

    def _read_trailers(self) -> None:
        total = 0
        while True:
            line = self._raw_line()
            if not line:
                return
            total += len(line)
            if total > 65536 or line[:1] in (b" ", b"\t") or b":" not in line:
                raise HTTPError(400, "malformed chunked trailer")

    @property
    def done(self) -> bool:
        """True once the whole body was read."""
        if self._pending:
            return False
        return self._remaining == 0 if not self._chunked else self._remaining < 0

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes of the body (all of the rest if ``size`` is negative or None)."""
        if size is None or size < 0:
            size = sys.maxsize
        if not self._chunked and not self._pending:
            # The common case: a Content-Length body, often already in the buffer.
            want = min(size, self._remaining)
            buf = self._buf
            if len(buf) >= want:
                self._buf = buf[want:]
                self._remaining -= want
                return buf[:want] if want < len(buf) else buf
        parts = []
        while size > 0:
            data = self._read_some(min(size, _BLOCK) if size < sys.maxsize else _BLOCK)
            if not data:
                break
            parts.append(data)
            size -= len(data)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        """One line of the body, with its b"\\n" (at most ``size`` bytes)."""
        if size is None or size < 0:
            size = sys.maxsize
        parts = []
        while size > 0:
            data = self._read_some(min(size, _BLOCK))
            if not data:
                break
            end = data.find(b"\n")
            if end >= 0:
                self._pending = data[end + 1 :] + self._pending
                parts.append(data[: end + 1])
                break
            parts.append(data)
            size -= len(data)
        return b"".join(parts)

    def readlines(self, hint: int = -1) -> list[bytes]:
        """The remaining lines of the body (stopping once ``hint`` bytes were read, if > 0)."""
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def leftover(self) -> bytes:
        """The connection's bytes after this body (the next pipelined request)."""
        return self._buf


class _Log:
    """A log destination: a file-like (``write``) or a ``logging.Logger``-like (``info``)."""

    #: Writes one line (without its newline).
    write: Callable[[str], object]

    def __init__(self, target: Any, error: bool) -> None:
        if hasattr(target, "write"):
            write = target.write
            self.write = lambda line: write(line + "\n")
        elif error:
            self.write = getattr(target, "error", None) or target.info
        else:
            self.write = target.info


class WSGIHandler:
    """Serves the HTTP requests of one connection, one after the other, until it closes."""

    #: The read-ahead size.
    block = _BLOCK
    #: The greenlet serving the connection (set by handle; the server's reaper kills it).
    _greenlet: Any

    def __init__(self, sock: Any, address: Any, server: WSGIServer) -> None:
        self.socket = sock
        self.client_address = address
        self.server = server
        self.application = server.application
        self._buf = b""

    # -- the connection loop ------------------------------------------------------------------

    def handle(self) -> None:
        """Serve requests until the client closes, times out, or a response must close."""
        server = self.server
        sock = self.socket
        try:
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a Unix socket)
        single = server.keepalive is not None and server.keepalive <= 0
        # One timeout for every socket operation, set once: the idle keep-alive timeout is kept
        # by the server's reaper greenlet instead (see WSGIServer._reap), because switching the
        # socket's timeout twice per request costs four system calls, ~15% of a small request.
        sock.settimeout(server.network_timeout)
        base = server.get_environ(sock, self.client_address)
        self._greenlet = getcurrent()  # what the reaper kills
        idle = server._idle
        clock = server._clock
        while not server.closed:
            buf = self._buf
            while buf[:2] == b"\r\n":
                buf = buf[2:]  # stray CRLFs between requests (RFC 9112 2.2)
            if b"\r\n\r\n" not in buf:
                if buf:
                    filled = self._read_head(buf)
                else:
                    idle[self] = clock()  # waiting for the next request: the reaper may close it
                    try:
                        filled = self._read_head(buf)
                    finally:
                        idle.pop(self, None)
                if filled is None:
                    return
                buf = filled
            end = buf.find(b"\r\n\r\n")
            head = buf[:end]
            self._buf = buf[end + 4 :]
            try:
                req = parse_head(head, server.max_header_fields, server.max_header_field_size)
            except HTTPError as exc:
                self._send_error(exc, head)
                return
            if single:
                req.close = True
            if not self.handle_request(req, head, base):
                return

    def _read_head(self, buf: bytes) -> bytes | None:
        """Read until the end of a request head; None when the connection is done."""
        sock = self.socket
        server = self.server
        limit = server.max_head_size
        line_limit = server.max_request_line
        while True:
            try:
                data = sock.recv(self.block)
            except TimeoutError:
                if buf:
                    self._send_error(HTTPError(408, "the request head did not arrive in time"))
                return None
            except OSError:
                return None
            if not data:
                if buf:
                    self._send_error(HTTPError(400, "the client closed in the request head"))
                return None
            buf += data
            if b"\r\n\r\n" in buf:
                if buf.find(b"\r\n") > line_limit:
                    self._send_error(HTTPError(414, "the request line is too long"))
                    return None
                return buf
            # Part of a head: no longer idle. The rest must come within network_timeout (then
            # 408), not the keep-alive limit. Off the hot path: a small head comes in one read.
            server._idle.pop(self, None)
            if len(buf) > limit or (len(buf) > line_limit and b"\r\n" not in buf):
                if buf.find(b"\r\n") < 0 or buf.find(b"\r\n") > line_limit:
                    self._send_error(HTTPError(414, "the request line is too long"))
                else:
                    self._send_error(HTTPError(431, "the request head is too large"))
                return None

    # -- one request ----------------------------------------------------------------------------

    def get_environ(self, req: Any, base: dict[str, Any], body: Input) -> dict[str, Any]:
        """The WSGI environ of request ``req``."""
        env = base.copy()
        target = req.target
        env["REQUEST_METHOD"] = req.method
        env["SERVER_PROTOCOL"] = req.version
        env["REQUEST_URI"] = env["RAW_URI"] = target
        if target[:1] != "/" and "://" in target:
            # The absolute form (to a proxy): the path is what follows the authority.
            rest = target.split("://", 1)[1]
            slash = rest.find("/")
            target = rest[slash:] if slash >= 0 else "/"
        path, _, query = target.partition("?")
        if "%" in path:
            path = unquote_to_bytes(path).decode("latin-1")
        env["PATH_INFO"] = path
        env["QUERY_STRING"] = query
        names = _ENV_NAMES
        for name, value in req.headers:
            key = names.get(name)
            if key is None:
                key = _env_name(name)
                if key is None:
                    continue
            if key in env and key[:5] == "HTTP_":
                env[key] += "," + value
            else:
                env[key] = value
        env["wsgi.input"] = body
        return env

    def handle_request(self, req: Any, head: bytes, base: dict[str, Any]) -> bool:
        """Run the application for ``req``; True if the connection stays open."""
        server = self.server
        body = Input(self.socket, self._buf, req.content_length, req.expect_continue)
        env = self.get_environ(req, base, body)
        response = _Response(server, self.socket, req)
        start = time.time() if server.log is not None else 0.0
        keep = False
        try:
            keep = response.run(self.application, env)
        except HTTPError as exc:
            if not response.headers_sent:
                self._send_error(exc, head, log=False)
            response.status_code = exc.status
        except OSError as exc:
            if not response.headers_sent:
                self._app_failed(env, exc, response)
            # else the client went away while we answered: nothing to report, just close
        except Exception as exc:
            self._app_failed(env, exc, response)
        if server.log is not None:
            server.log_request(env, response.status_code, response.sent, time.time() - start)
        if keep:
            if not body.done:
                keep = self._drain(body, req)
            self._buf = body.leftover()
        return keep

    def _app_failed(self, env: dict[str, Any], exc: BaseException, response: _Response) -> None:
        self.server.log_error(env, exc)
        if not response.headers_sent:
            self._send_error(HTTPError(500, "the application failed"), log=False)
        response.status_code = 500

    def _drain(self, body: Input, req: Any) -> bool:
        """Read and drop the rest of a body the application left; False to close instead."""
        if body._continue:
            return False  # the client waits for our 100 Continue: it may never send the body
        if not body._chunked and body._remaining > _DRAIN_LIMIT:
            return False
        total = 0
        try:
            while True:
                data = body.read(_BLOCK)
                if not data:
                    return True
                total += len(data)
                if total > _DRAIN_LIMIT:
                    return False
        except (HTTPError, OSError):
            return False

    def _send_error(self, exc: HTTPError, head: bytes = b"", log: bool = True) -> None:
        """Answer ``exc.status`` with a short text body and ``Connection: close``."""
        reason = _REASONS.get(exc.status, "Error")
        body = f"{exc.status} {reason}: {exc.message}\n".encode("latin-1", "replace")
        data = (
            f"HTTP/1.1 {exc.status} {reason}\r\nContent-Type: text/plain; charset=latin-1\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nDate: {_date.get()}\r\n\r\n"
        ).encode("latin-1") + body
        try:
            self.socket.sendall(data)
        except OSError:
            pass
        if log and self.server.log is not None:
            line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
            self.server.log_line(self.client_address, line, exc.status, len(body), 0.0)


def _env_name(name: str) -> str | None:
    # Header names with an underscore are dropped: "X_Forwarded_For" and "X-Forwarded-For" would
    # both become HTTP_X_FORWARDED_FOR, letting a client spoof what a proxy set.
    if "_" in name:
        return None
    if name == "content-type":
        key = "CONTENT_TYPE"
    elif name == "content-length":
        key = "CONTENT_LENGTH"
    else:
        key = "HTTP_" + name.upper().replace("-", "_")
    if len(_ENV_NAMES) < 1024:
        _ENV_NAMES[name] = key
    return key


_ENV_NAMES: dict[str, str] = {}
for _name in ("host", "user-agent", "accept", "accept-encoding", "connection", "cookie"):
    _env_name(_name)


def _scan_headers(headers: list[tuple[str, str]]) -> tuple[int | None, bool, bool]:
    """Check an application's headers (PEP 3333); return what the server reads from them.

    (Content-Length or None, whether it asked for ``Connection: close``, whether it set Date.)
    """
    length = None
    app_close = False
    app_date = False
    for name, value in headers:
        if type(name) is not str or type(value) is not str:
            raise TypeError(f"WSGI header names and values must be str: {(name, value)!r}")
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise ValueError(f"CR or LF in a WSGI header: {(name, value)!r}")
        lname = name.lower()
        if lname == "content-length":
            length = int(value)
        elif lname == "connection":
            app_close = "close" in value.lower()
        elif lname == "date":
            app_date = True
        elif lname == "transfer-encoding":
            raise ValueError("Transfer-Encoding is the server's header (PEP 3333: hop-by-hop)")
    return length, app_close, app_date


class _Response:
    """The response to one request: start_response, write(), and sending the body."""

    __slots__ = (
        "_app_close",
        "_app_date",
        "_chunked",
        "_headers",
        "_length",
        "_no_body",
        "_req",
        "_server",
        "_sock",
        "_status",
        "headers_sent",
        "sent",
        "status_code",
    )

    def __init__(self, server: WSGIServer, sock: Any, req: Any) -> None:
        self._server = server
        self._sock = sock
        self._req = req
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self._length: int | None = None
        self._app_close = False
        self._app_date = False
        self._chunked = False
        self._no_body = False
        self.headers_sent = False
        self.sent = 0  # body bytes sent
        self.status_code = 0

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """PEP 3333's start_response; returns the ``write`` callable."""
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self._status is not None:
            raise AssertionError("start_response was already called (without exc_info)")
        if type(status) is not str or len(status) < 4 or status[3] != " ":
            raise ValueError(f"bad WSGI status {status!r}")
        code = int(status[:3])
        self._length, self._app_close, self._app_date = _scan_headers(headers)
        self._status = status
        self._headers = headers
        self.status_code = code
        self._no_body = code < 200 or code in (204, 304) or self._req.method == "HEAD"
        return self.write

    def _head(self, length: int | None, final: bool) -> bytes:
        """The status line and headers, for a body of ``length`` bytes (None: unknown yet)."""
        req = self._req
        status = self._status
        if status is None:
            raise AssertionError("the application did not call start_response")
        code = self.status_code
        lines = [f"{req.version} {status}\r\n"]
        lines.extend([f"{n}: {v}\r\n" for n, v in self._headers])
        if code >= 200 and code not in (204, 304) and self._length is None:
            if length is not None and (final or self._no_body):
                if req.method != "HEAD" or length:
                    lines.append(f"Content-Length: {length}\r\n")
                    self._length = length
            elif not self._no_body:
                if req.version == "HTTP/1.1":
                    self._chunked = True
                    lines.append("Transfer-Encoding: chunked\r\n")
                else:
                    self._app_close = True  # the end of the body is the end of the connection
        close = self._app_close or req.close or self._server.closed
        if code == 101:
            close = True
        elif close:
            self._app_close = True
            if not self._app_close_in_headers():
                lines.append("Connection: close\r\n")
        elif req.version == "HTTP/1.0":
            lines.append("Connection: keep-alive\r\n")
        lines.append("\r\n" if self._app_date else f"Date: {_date.get()}\r\n\r\n")
        self.headers_sent = True
        return "".join(lines).encode("latin-1")

    def _app_close_in_headers(self) -> bool:
        return any(n.lower() == "connection" and "close" in v.lower() for n, v in self._headers)

    def write(self, data: bytes) -> None:
        """Send ``data`` as (part of) the body, the headers first if they are not sent yet."""
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"WSGI body data must be bytes, not {type(data).__name__}")
            data = bytes(data)
        if not data and self.headers_sent:
            return
        head = b"" if self.headers_sent else self._head(None, False)
        if self._no_body:
            if head:
                self._sock.sendall(head)
            return
        if self._length is not None:
            room = self._length - self.sent
            if len(data) > room:
                data = data[:room]  # more than the declared Content-Length: cut, then close
                self._app_close = True
        self.sent += len(data)
        if self._chunked and data:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        if head:
            if len(data) <= _JOIN_LIMIT:
                self._sock.sendall(head + data)
                return
            self._sock.sendall(head)
        if data:
            self._sock.sendall(data)

    def run(self, application: Callable[..., Iterable[bytes]], env: dict[str, Any]) -> bool:
        """Call the application and send its response; True if the connection may stay open."""
        # Any, not Iterable[bytes]: the response is sent by its exact type (``kind`` below: a
        # list or tuple, our FileWrapper, any other iterable), which mypy does not narrow through
        # a saved ``type()``; isinstance() or cast() would cost a call on every request.
        result: Any = application(env, self.start_response)
        try:
            req = self._req
            if req.upgrade and (self._status is None or self.status_code == 101):
                # The application took the connection over (a websocket, say): whatever it
                # returns goes out raw, and the connection ends with it.
                if self._status is not None:
                    for data in result:
                        if not self.headers_sent:
                            self._sock.sendall(self._head(None, False))
                        if data:
                            self._sock.sendall(data)
                    if not self.headers_sent:
                        self._sock.sendall(self._head(None, False))
                return False
            kind = type(result)
            if (kind is list or kind is tuple) and not self.headers_sent:
                if len(result) == 1:
                    data = result[0]
                    if type(data) is not bytes:
                        data = _as_bytes(data)
                else:
                    data = b"".join([_as_bytes(d) for d in result])
                self._send_whole(data)
            elif kind is FileWrapper and not self.headers_sent and self._sendfile(result):
                pass
            elif req.method == "HEAD" and not self.headers_sent:
                # No body goes out, but the length a GET would have is worth telling.
                length = 0
                for data in result:
                    length += len(data)
                    if self.headers_sent:  # the application called write()
                        break
                self._send_whole(b"", length)
            else:
                for data in result:
                    if data:
                        self.write(data)
                self._finish()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return not self._app_close

    def _send_whole(self, data: bytes, length: int | None = None) -> None:
        """The whole body at once: one sendall with the headers."""
        if self.headers_sent:
            return
        head = self._head(len(data) if length is None else length, True)
        if self._no_body:
            self._sock.sendall(head)
            return
        length = self._length
        if length is not None and length != len(data):
            data = data[:length]
            self._app_close = True  # fewer bytes than declared: only closing tells the client
        if self._chunked:
            data = b"%x\r\n%b\r\n0\r\n\r\n" % (len(data), data) if data else b"0\r\n\r\n"
        self.sent = len(data)
        if len(data) <= _JOIN_LIMIT:
            self._sock.sendall(head + data)
        else:
            self._sock.sendall(head)
            self._sock.sendall(data)

    def _finish(self) -> None:
        if not self.headers_sent:
            self._send_whole(b"")
            return
        if self._chunked:
            self._sock.sendall(b"0\r\n\r\n")
        elif self._length is not None and self.sent < self._length and not self._no_body:
            self._app_close = True  # fewer bytes than declared: only closing tells the client

    def _sendfile(self, wrapper: FileWrapper) -> bool:
        """Send a file with os.sendfile; False if this file or connection cannot."""
        if self._server.ssl_enabled:
            return False
        f = wrapper.filelike
        try:
            fd = f.fileno()
            pos = f.tell()
            size = os.fstat(fd).st_size - pos
        except (AttributeError, OSError, ValueError):
            return False
        if self._status is None:
            raise AssertionError("the application did not call start_response")
        count = size if self._length is None else min(size, self._length)
        head = self._head(count, True)
        self._sock.sendall(head)
        if self._no_body or count <= 0:
            return True
        self.sent = self._sock.sendfile(f, pos, count)
        if self.sent < (self._length or count):
            self._app_close = True
        return True


def _as_bytes(data: Any) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"WSGI body data must be bytes, not {type(data).__name__}")


_POLLIN = _select.POLLIN
_POLL_PENDING = _select.POLLIN | _select.POLLHUP | _select.POLLERR


def _pending(sock: Any) -> bool:
    """Whether ``sock`` has something for its handler to read now (bytes, EOF or an error)."""
    try:
        fd = sock.fileno()
    except OSError:
        return False
    if fd < 0:
        return False  # closed
    return bool(poll_now(fd, _POLLIN) & _POLL_PENDING)


def _no_application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    raise NotImplementedError("WSGIServer needs an application")


class WSGIServer(StreamServer):
    """A WSGI server: ``WSGIServer(("127.0.0.1", 8000), app).serve_forever()``.

    ``log`` (the access log, common log format) and ``error_log`` (tracebacks) take a file-like
    object, a ``logging.Logger``, ``"default"`` (sys.stderr) or None (off). ``environ`` adds keys
    to every request's environ. ``keepalive`` is how long an idle connection waits for its next
    request (seconds, None: forever); ``network_timeout`` bounds every other socket operation.
    """

    #: The WSGI application: pass ``application=``, assign it, or define an ``application``
    #: method in a subclass. An attribute rather than a method so that all three type-check;
    #: the default is a plain function (hence staticmethod) that raises NotImplementedError.
    application: Callable[[dict[str, Any], Any], Iterable[bytes]] = staticmethod(_no_application)
    handler_class: type[WSGIHandler] = WSGIHandler
    #: Limits on what a client may send (gunicorn's defaults).
    max_request_line: int = 8190
    max_header_fields: int = 100
    max_header_field_size: int = 8190
    max_head_size: int = 65536
    #: The access log's line: client, time, request line, status, body bytes, seconds.
    log_format = '%s - - [%s] "%s" %s %s %.6f'
    server_software = "greenpatch-wsgi/" + __import__("hub").__version__

    def __init__(
        self,
        listener: Any,
        application: Callable[..., Iterable[bytes]] | None = None,
        backlog: int | None = None,
        spawn: Any = "default",
        log: Any = "default",
        error_log: Any = "default",
        handler_class: type[WSGIHandler] | None = None,
        environ: dict[str, Any] | None = None,
        keepalive: float | None = 60.0,
        network_timeout: float | None = 60.0,
        max_request_line: int | None = None,
        max_header_fields: int | None = None,
        max_header_field_size: int | None = None,
        **ssl_args: Any,
    ) -> None:
        super().__init__(listener, backlog=backlog, spawn=spawn, **ssl_args)
        if application is not None:
            self.application = application
        if handler_class is not None:
            self.handler_class = handler_class
        self.log = None if log is None else _Log(sys.stderr if log == "default" else log, False)
        self.error_log = (
            None
            if error_log is None
            else _Log(sys.stderr if error_log == "default" else error_log, True)
        )
        self.keepalive = keepalive
        self.network_timeout = network_timeout
        for name, value in (
            ("max_request_line", max_request_line),
            ("max_header_fields", max_header_fields),
            ("max_header_field_size", max_header_field_size),
        ):
            if value is not None:
                setattr(self, name, value)
        self.environ = dict(environ or {})
        # Connections waiting for their next request's first byte: handler -> since when (hub
        # clock). WSGIHandler.handle sets and clears it around the wait, _reap reads it.
        self._idle: dict[WSGIHandler, float] = {}
        self._clock = get_hub().clock
        self._reaper: Any = None
        self._log_time = (-1, "")

    def get_environ(self, sock: Any, address: Any) -> dict[str, Any]:
        """The environ keys shared by every request of a connection."""
        host, port = self.address[:2]
        env: dict[str, Any] = {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": self.server_software,
            "SERVER_NAME": str(host) or "localhost",
            "SERVER_PORT": str(port),
            "SCRIPT_NAME": "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self.ssl_enabled else "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "wsgi.file_wrapper": FileWrapper,
            "hub.socket": sock,
        }
        if isinstance(address, tuple):
            env["REMOTE_ADDR"] = address[0]
            env["REMOTE_PORT"] = str(address[1])
        else:
            env["REMOTE_ADDR"] = str(address or "")
        env.update(self.environ)
        return env

    def handle(self, sock: Any, address: Any) -> None:
        """Serve one connection with ``handler_class``."""
        self.handler_class(sock, address, self).handle()

    def start(self) -> None:
        """Listen and accept in the background; also start the idle-connection reaper."""
        super().start()
        if self.keepalive is not None and self.keepalive > 0:
            self._reaper = Greenlet.spawn(self._reap, self.keepalive)

    def _reap(self, keepalive: float) -> None:
        # Close the connections idle for longer than keepalive, checking a few times per
        # keepalive period: a connection may stay idle up to ~1.25 x keepalive.
        #
        # "Idle" is the handler's mark, set before it waits for a request's first byte and
        # cleared once it has run again. Between the bytes' arrival and the handler's next turn
        # the mark is stale: the hub has seen the fd readable and queued the handler, but on a
        # loaded machine (or after a long callback) the reaper's timer can fire in the same
        # round and run first. Killing then would drop a request the client has already sent
        # (it sees a reset). So the reaper asks the kernel, once per old mark, whether the
        # socket is readable right now (poll_now, zero timeout); if it is (data, or the peer's
        # FIN or an error the handler will see), the handler is about to run and is spared;
        # its next turn clears or renews the mark. A silent connection stays unreadable and is
        # closed as before. The check costs one poll system call per connection past the limit,
        # in the reaper only: the per-request path does not change.
        idle = self._idle
        clock = self._clock
        period = min(max(keepalive / 4, 0.01), 1.0)
        while True:
            sleep(period)
            limit = clock() - keepalive
            for handler, since in list(idle.items()):
                if since <= limit and idle.get(handler) == since:
                    if _pending(handler.socket):
                        continue
                    del idle[handler]
                    handler._greenlet.kill(block=False)

    def close(self) -> None:
        """Stop accepting; connections go on until their request is answered."""
        super().close()
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            reaper.kill(block=False)

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, close idle keep-alive connections, let requests in flight finish."""
        self.close()
        for handler in list(self._idle):
            handler._greenlet.kill(block=False)
        super().stop(timeout)

    # -- logs -------------------------------------------------------------------------------------

    def log_request(self, env: dict[str, Any], status: int, length: int, seconds: float) -> None:
        """Write one access-log line for a served request."""
        line = f"{env['REQUEST_METHOD']} {env['RAW_URI']} {env['SERVER_PROTOCOL']}"
        self.log_line(env.get("REMOTE_ADDR", "-"), line, status, length, seconds)

    def log_line(self, client: Any, line: str, status: int, length: int, seconds: float) -> None:
        """Write an access-log line (common log format plus the time taken)."""
        if self.log is None:
            return
        if isinstance(client, tuple):
            client = client[0]
        now = int(time.time())
        if self._log_time[0] != now:
            self._log_time = (now, time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(now)))
        self.log.write(
            self.log_format
            % (client or "-", self._log_time[1], line, status, length or "-", seconds)
        )

    def log_error(self, env: dict[str, Any], exc: BaseException) -> None:
        """Write an application's exception, with its traceback, to ``error_log``."""
        if self.error_log is None:
            return
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        where = f"{env.get('REQUEST_METHOD')} {env.get('RAW_URI')}"
        who = env.get("REMOTE_ADDR")
        self.error_log.write(f"Error handling {where} from {who}:\n{text.rstrip()}")
