"""HTTP/1.x request parsing for hub.wsgi: the request head, and the framing of the body.

Hand-written, chosen by measurement over h11 and httptools (figures in docs/servers.md): the
common request is parsed with one ``find``, one ``split`` and one regular-expression match per
line, with no per-byte Python code and no callbacks.

The parser is strict where leniency lets two parsers disagree about where a request ends (the
root of request smuggling), and rejects instead of guessing:

- lines end in CRLF; a bare LF or a bare CR anywhere in the head is a 400;
- an obsolete line fold (a header line starting with a space or tab) is a 400;
- a space before the colon, an empty or non-token header name, control characters in a value
  are 400s;
- ``Content-Length`` must be decimal digits, and only one such header may be present;
- ``Transfer-Encoding`` must be exactly ``chunked`` (501 for any other coding) and may not come
  with a ``Content-Length`` (400), nor in an HTTP/1.0 request (400);
- HTTP/1.1 requests need exactly one ``Host``;
- chunk sizes are hex digits (at most 16), optionally followed by ``;extensions``, then CRLF;
  the chunk's data must be followed by CRLF.

Anything this parser accepts, h11 accepts too, with the same method, target, headers and body:
tests/test_wsgi.py checks that with hypothesis on generated and mutated requests.
"""

from __future__ import annotations

import re

__all__ = ["HTTPError", "Request", "parse_chunk_size", "parse_head"]

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_VCHAR = rb"[\x21-\x7e\x80-\xff]"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) (HTTP/[0-9]\.[0-9])")
_HEADER = re.compile(
    rb"("
    + _TOKEN
    + rb"):[ \t]*((?:"
    + _VCHAR
    + rb"(?:[ \t\x21-\x7e\x80-\xff]*"
    + _VCHAR
    + rb")?)?)[ \t]*"
)
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[\t\x20-\x7e\x80-\xff]*)?")
_DIGITS = re.compile(rb"[0-9]{1,18}")
_SPECIAL = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "upgrade", "expect"}
)
_NO_TOKENS: frozenset[str] = frozenset()


class HTTPError(Exception):
    """The request cannot be served: the server answers ``status`` and closes the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


class Request:
    """A parsed request head."""

    __slots__ = (
        "chunked",
        "close",
        "content_length",
        "expect_continue",
        "headers",
        "method",
        "target",
        "upgrade",
        "version",
    )

    method: str
    target: str
    version: str
    #: ``[(lower-case name, value), ...]`` in order, as str (latin-1).
    headers: list[tuple[str, str]]
    #: The body's length; None if chunked.
    content_length: int | None
    chunked: bool
    #: The client asked for the connection to close after this request.
    close: bool
    expect_continue: bool
    #: ``Connection: upgrade`` with an ``Upgrade`` header.
    upgrade: bool


def parse_head(head: bytes, max_fields: int = 100, max_field_size: int = 8190) -> Request:
    """Parse a request head (everything before the blank line, without it).

    Raises :class:`HTTPError` (400, 431, 501, 505) for what cannot be served.
    """
    # Every line is matched whole by a pattern that admits neither CR nor LF, so a bare CR or
    # LF anywhere in the head fails one of the matches below.
    lines = head.split(b"\r\n")
    m = _REQUEST_LINE.fullmatch(lines[0])
    if m is None:
        raise HTTPError(400, "malformed request line or bare CR/LF")
    method, target, version = m.groups()
    if version != b"HTTP/1.1" and version != b"HTTP/1.0":
        raise HTTPError(505, f"{version.decode('latin-1')} is not supported")
    if len(lines) - 1 > max_fields:
        raise HTTPError(431, f"more than {max_fields} header fields")
    req = Request()
    req.method = method.decode("latin-1")
    req.target = target.decode("latin-1")
    req.version = version.decode("latin-1")
    headers: list[tuple[str, str]] = []
    content_length = None
    te = None
    host_count = 0
    connection = ""
    upgrade = False
    expect = False
    match = _HEADER.fullmatch
    special = _SPECIAL
    for line in lines[1:]:
        hm = match(line)
        if hm is None:
            if len(line) > max_field_size:
                raise HTTPError(431, f"a header field longer than {max_field_size} bytes")
            if line[:1] in (b" ", b"\t"):
                raise HTTPError(400, "obsolete line folding is not accepted")
            raise HTTPError(400, "malformed header field or bare CR/LF")
        if len(line) > max_field_size:
            raise HTTPError(431, f"a header field longer than {max_field_size} bytes")
        raw_name, raw_value = hm.groups()
        name = raw_name.lower().decode("latin-1")
        value = raw_value.decode("latin-1")
        headers.append((name, value))
        if name in special:
            if name == "host":
                host_count += 1
            elif name == "content-length":
                if content_length is not None:
                    raise HTTPError(400, "more than one Content-Length")
                if _DIGITS.fullmatch(raw_value) is None:
                    raise HTTPError(400, f"bad Content-Length {value!r}")
                content_length = int(value)
            elif name == "connection":
                connection = f"{connection},{value.lower()}" if connection else value.lower()
            elif name == "transfer-encoding":
                if te is not None:
                    raise HTTPError(501, "more than one Transfer-Encoding")
                te = value.lower()
            elif name == "upgrade":
                upgrade = True
            else:  # expect
                expect = value.lower() == "100-continue"
    http11 = req.version == "HTTP/1.1"
    if http11 and host_count != 1:
        raise HTTPError(400, "an HTTP/1.1 request needs exactly one Host header")
    if host_count > 1:
        raise HTTPError(400, "more than one Host header")
    req.chunked = False
    if te is not None:
        if content_length is not None:
            raise HTTPError(400, "both Content-Length and Transfer-Encoding")
        if not http11:
            raise HTTPError(400, "Transfer-Encoding in an HTTP/1.0 request")
        if te != "chunked":
            raise HTTPError(501, f"Transfer-Encoding {te!r} is not supported (only chunked)")
        req.chunked = True
    elif content_length is None:
        content_length = 0
    req.content_length = content_length
    req.headers = headers
    tokens: set[str] | frozenset[str]
    if connection:
        tokens = {t.strip() for t in connection.split(",")}
        req.close = "close" in tokens or (not http11 and "keep-alive" not in tokens)
    else:
        tokens = _NO_TOKENS
        req.close = not http11
    req.upgrade = upgrade and "upgrade" in tokens
    req.expect_continue = expect and http11
    return req


def parse_chunk_size(line: bytes) -> int:
    """The size in a chunk-size line (without its CRLF); HTTPError(400) if it is malformed."""
    m = _CHUNK_SIZE.fullmatch(line)
    if m is None:
        raise HTTPError(400, "malformed chunk size line")
    return int(m.group(1), 16)
