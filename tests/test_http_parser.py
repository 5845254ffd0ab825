"""hub._http against h11 as an oracle: generated requests, mutated ones, request-smuggling shapes.

The property: whatever our parser accepts, h11 accepts too, with the same method, target,
headers and body. (We may refuse more than h11 does: refusing is always safe; reading a request
differently from a proxy in front of us is how smuggling works.) Well-formed requests must be
accepted by both.
"""

from __future__ import annotations

import os

import pytest
from _servers import require

from hub._http import HTTPError, parse_head
from hub.wsgi import Input

h11 = require("h11")
hypothesis = require("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Under CI the examples are the same every run (a counterexample found at random there would be a
# flaky failure); on a developer's machine hypothesis keeps exploring new ones.
_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI") == "true",
)


class _Exhausted:
    """A connection whose bytes were all read already: the next recv is EOF."""

    def recv(self, n: int) -> bytes:
        return b""

    def sendall(self, data: bytes) -> None:
        pass


def ours(data: bytes):
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None  # incomplete: the server would wait for more
    try:
        req = parse_head(data[:end])
        body = Input(_Exhausted(), data[end + 4 :], req.content_length).read()
    except HTTPError as exc:
        return ("error", exc.status)
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in req.headers]
    return ("ok", req.method.encode(), req.target.encode("latin-1"), headers, body)


def oracle(data: bytes):
    conn = h11.Connection(h11.SERVER)
    try:
        conn.receive_data(data)
        event = conn.next_event()
        if event is h11.NEED_DATA or not isinstance(event, h11.Request):
            return None
        body = b""
        while True:
            ev = conn.next_event()
            if isinstance(ev, h11.Data):
                body += bytes(ev.data)
            elif isinstance(ev, h11.EndOfMessage):
                break
            else:
                return None  # NEED_DATA: incomplete
    except h11.RemoteProtocolError:
        return ("error",)
    headers = [(bytes(n), bytes(v)) for n, v in event.headers]
    return ("ok", bytes(event.method), bytes(event.target), headers, body)


def check(data: bytes) -> None:
    mine = ours(data)
    if mine is None or mine[0] == "error":
        return
    theirs = oracle(data)
    assert theirs is not None and theirs[0] == "ok", (data, mine, theirs)
    assert _comparable(mine) == _comparable(theirs), data


def _comparable(parsed: tuple) -> tuple:
    """A parse result with Transfer-Encoding values in lower case.

    h11 reports that header's value lower-cased (it is a case-insensitive token); we pass the
    value on as the client sent it, as the WSGI environ shows it. Both read the body alike.
    """
    _, method, target, headers, body = parsed
    headers = [(n, v.lower() if n == b"transfer-encoding" else v) for n, v in headers]
    return (method, target, headers, body)


# -- generated requests ---------------------------------------------------------------------

_token = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`|~",
    min_size=1,
    max_size=12,
)
_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30).map(str.strip)
_path = st.text("abcdefghijklmnopqrstuvwxyz0123456789/%?=&._-~", max_size=30).map(lambda p: "/" + p)
_SKIP = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "expect"}


@st.composite
def requests(draw):
    method = draw(st.sampled_from(["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH"]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    headers = []
    if version == "HTTP/1.1" or draw(st.booleans()):
        headers.append(("Host", draw(st.sampled_from(["example.org", "127.0.0.1:8000", "x"]))))
    for _ in range(draw(st.integers(0, 6))):
        name = draw(_token)
        if name.lower() not in _SKIP:
            headers.append((name, draw(_value)))
    body = draw(st.binary(max_size=40))
    framing = draw(st.sampled_from(["length", "chunked", "none"]))
    if framing == "chunked" and version == "HTTP/1.1":
        headers.append(("Transfer-Encoding", "chunked"))
        cut = draw(st.integers(0, len(body)))
        pieces = [p for p in (body[:cut], body[cut:]) if p]
        ext = draw(st.sampled_from(["", ";a=b", ";x"]))
        wire = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext.encode(), p) for p in pieces)
        wire += b"0\r\n\r\n"
    elif framing == "length" or body:
        headers.append(("Content-Length", str(len(body))))
        wire = body
    else:
        wire = b""
    head = f"{method} {draw(_path)} {version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    return head.encode("latin-1") + b"\r\n" + wire


@_SETTINGS
@given(requests())
def test_well_formed_requests_agree_with_h11(data):
    mine = ours(data)
    assert mine is not None and mine[0] == "ok", (data, mine)
    check(data)


_SMUGGLING_LINES = [
    b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: gzip, chunked",
    b"Transfer-Encoding: chunked, gzip",
    b"Transfer-Encoding:  chunked ",
    b"Transfer-Encoding: Chunked",
    b"Transfer-Encoding: xchunked",
    b"Transfer-Encoding:\tchunked",
    b"Transfer-Encoding : chunked",
    b" Transfer-Encoding: chunked",
    b"Content-Length: 0",
    b"Content-Length: 5",
    b"Content-Length: +5",
    b"Content-Length: 5, 5",
    b"Content-Length: 0x5",
    b"Content-Length:",
    b"X-Folded: a\r\n b",
    b"X-Folded: a\r\n\tb",
    b"Host: other",
    b"X: a\nY: b",
    b"X: a\rY: b",
    b"X\x00: a",
    b"X: a\x00b",
]


@st.composite
def mutated(draw):
    data = bytearray(draw(requests()))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "line", "lf", "chunk"]))
        if kind == "line":
            at = data.find(b"\r\n") + 2
            data[at:at] = draw(st.sampled_from(_SMUGGLING_LINES)) + b"\r\n"
        elif kind == "lf":
            at = data.find(b"\r\n", draw(st.integers(0, max(len(data) - 1, 0))))
            if at >= 0:
                data[at : at + 2] = b"\n"
        elif kind == "chunk":
            at = data.find(b"\r\n\r\n")
            tail = draw(
                st.sampled_from(
                    [
                        b"5\r\nhello\r\n0\r\n\r\n",
                        b"5;ext\r\nhel",
                        b"zz\r\n",
                        b"0\r\n\r\n",
                        b"3\r\nabcde\r\n0\r\n\r\n",
                        b"-1\r\n",
                        b"5 \r\nhello\r\n0\r\n\r\n",
                    ]
                )
            )
            data[at + 4 :] = tail
        elif not data:
            continue
        else:
            at = draw(st.integers(0, len(data) - 1))
            byte = draw(st.sampled_from(b"\r\n \t:\x00\x7f\x80;,0aZ"))
            if kind == "insert":
                data.insert(at, byte)
            elif kind == "delete":
                del data[at]
            else:
                data[at] = byte
    return bytes(data)


@_SETTINGS
@given(mutated())
def test_mutated_requests_never_accepted_where_h11_refuses(data):
    check(data)


@pytest.mark.parametrize(
    "data",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        b"0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nX: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\nContent-Length: 5\r\n\r\nhello",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1_0\r\n\r\n",
    ],
)
def test_smuggling_shapes_are_refused(data):
    mine = ours(data)
    assert mine is not None and mine[0] == "error", mine
    check(data)


def test_chunk_extensions_are_accepted_and_ignored():
    data = (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n0;x\r\n\r\n"
    )
    assert ours(data)[4] == b"hello"
    check(data)
