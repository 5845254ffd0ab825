"""hub.wsgi with real clients: http.client, requests, raw sockets, a websocket client, wrk."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import re
import resource
import struct
import subprocess
import sys
from wsgiref.validate import validator

import pytest
from _servers import in_thread, raw, require, require_program, responses, serving

import hub
from hub import socket


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!"]


def echo_environ(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    text = "\n".join(
        f"{k}={environ[k]}"
        for k in (
            "REQUEST_METHOD",
            "PATH_INFO",
            "QUERY_STRING",
            "SERVER_PROTOCOL",
            "CONTENT_LENGTH",
            "CONTENT_TYPE",
            "HTTP_X_THING",
            "wsgi.url_scheme",
        )
        if k in environ
    )
    out = text.encode("latin-1") + b"\nbody=" + body
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]


def http_get(address, path="/", method="GET", body=None, headers=None, count=1):
    """Blocking http.client requests on one keep-alive connection (run it in a thread)."""
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        out = []
        for _ in range(count):
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            out.append((r.status, dict(r.getheaders()), r.read()))
        return out
    finally:
        conn.close()


# -- the basics, under wsgiref's validator ------------------------------------------------------


def test_get_under_validator_with_keep_alive():
    with serving(validator(hello)) as server:
        results = in_thread(http_get, server.address, "/", "GET", None, None, 3)
    assert [r[0] for r in results] == [200, 200, 200]
    assert results[0][2] == b"Hello, World!"
    assert "Date" in results[0][1]
    # The validator hides the list behind an iterator (sent chunked); a list goes out whole.
    with serving(hello) as server:
        [(_, headers, _)] = in_thread(http_get, server.address)
    assert headers["Content-Length"] == "13"


def test_environ_path_query_headers_and_body():
    with serving(validator(echo_environ)) as server:
        [(status, _, body)] = in_thread(
            http_get,
            server.address,
            "/a%20b/c?x=1&y=%20",
            "POST",
            b"payload",
            {"X-Thing": "yes", "Content-Type": "text/x"},
        )
    assert status == 200
    lines = body.decode().split("\n")
    assert "REQUEST_METHOD=POST" in lines
    assert "PATH_INFO=/a b/c" in lines
    assert "QUERY_STRING=x=1&y=%20" in lines
    assert "CONTENT_LENGTH=7" in lines
    assert "CONTENT_TYPE=text/x" in lines
    assert "HTTP_X_THING=yes" in lines
    assert "wsgi.url_scheme=http" in lines
    assert body.endswith(b"body=payload")


def test_requests_client_post_and_json():
    requests = require("requests")

    def app(environ, start_response):
        data = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("201 Created", [("Content-Type", "application/json")])
        return [b'{"got": %d}' % len(data)]

    def client(address):
        with requests.Session() as s:
            url = f"http://{address[0]}:{address[1]}/"
            return [s.post(url, data=b"x" * n, timeout=10).json() for n in (0, 10, 100000)]

    with serving(validator(app)) as server:
        assert in_thread(client, server.address) == [{"got": 0}, {"got": 10}, {"got": 100000}]


def test_pipelined_requests_answered_in_order():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    with serving(app) as server, socket.create_connection(server.address) as c:
        c.sendall(b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5)))
        got = responses(c, 5)
    assert [body for _, _, body in got] == [b"/%d" % i for i in range(5)]


def test_http10_closes_unless_keep_alive():
    with serving(hello) as server:
        out = raw(server, b"GET / HTTP/1.0\r\n\r\n")
        assert out.startswith(b"HTTP/1.0 200 OK\r\n")
        assert b"Connection: close" in out
        assert out.endswith(b"Hello, World!")
        with socket.create_connection(server.address) as c:
            c.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2)
            got = responses(c, 2)
            assert [g[2] for g in got] == [b"Hello, World!"] * 2
            assert got[0][1]["connection"] == "keep-alive"


def test_missing_host_in_http11_is_400():
    with serving(hello) as server:
        assert raw(server, b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")


# -- request bodies -----------------------------------------------------------------------------


def test_chunked_request_body_read_readline_and_iter():
    def app(environ, start_response):
        inp = environ["wsgi.input"]
        first = inp.readline()
        two = inp.read(2)
        rest = list(inp)
        out = b"|".join([first, two, *rest])
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))]
        )
        return [out]

    body = b"4;ext=1\r\nab\nc\r\n6\r\ndef\ngh\r\n0\r\nTrailer: x\r\n\r\n"
    req = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    with serving(validator(app)) as server, socket.create_connection(server.address) as c:
        c.sendall(req + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive after a chunked body
        got = responses(c, 2)
    assert got[0][2] == b"ab\n|cd|ef\n|gh"
    assert got[1][0] == 200


def test_content_length_is_enforced_and_unread_body_drained():
    seen = []

    def app(environ, start_response):
        inp = environ["wsgi.input"]
        seen.append(inp.read(3))
        if environ["PATH_INFO"] == "/all":
            seen.append(inp.read())
            seen.append(inp.read())  # past the end: b""
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    with serving(app) as server, socket.create_connection(server.address) as c:
        c.sendall(
            b"POST /all HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            b"POST /part HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nworld"
            b"GET /all HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        got = responses(c, 3)
    assert [g[2] for g in got] == [b"ok"] * 3
    assert seen == [b"hel", b"lo", b"", b"wor", b"", b"", b""]


def test_client_closing_mid_body_fails_the_read():
    errors = []

    def app(environ, start_response):
        try:
            environ["wsgi.input"].read()
        except Exception as exc:
            errors.append(exc)
            raise
        start_response("200 OK", [])
        return [b""]

    with serving(app, error_log=io.StringIO()) as server:
        with socket.create_connection(server.address) as c:
            c.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort")
            c.shutdown(socket.SHUT_WR)
            assert c.recv(100).startswith(b"HTTP/1.1 400 ")
        assert raw(server, b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200 ")
    assert errors and "closed the connection" in str(errors[0])


def test_expect_100_continue_sent_on_first_read():
    def app(environ, start_response):
        hub.sleep(0.1)
        data = environ["wsgi.input"].read() if environ["PATH_INFO"] == "/read" else b"no"
        start_response("200 OK", [("Content-Length", str(len(data)))])
        return [data]

    with serving(app) as server:
        with socket.create_connection(server.address, timeout=10) as c:
            c.sendall(
                b"PUT /read HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            assert c.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
            c.sendall(b"data")
            [(status, _, body)] = responses(c, 1)
            assert (status, body) == (200, b"data")
        # The application did not read: no 100, and the connection closes after the answer.
        out = raw(
            server,
            b"PUT /skip HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        )
        assert b"100 Continue" not in out
        assert out.startswith(b"HTTP/1.1 200 OK") and out.endswith(b"no")


# -- responses ----------------------------------------------------------------------------------


def test_chunked_response_without_content_length_and_http10_fallback():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"one,"
        yield b""
        yield b"two"

    with serving(validator(app)) as server:
        [(status, headers, body)] = in_thread(http_get, server.address)
        assert (status, body) == (200, b"one,two")
        assert headers["Transfer-Encoding"] == "chunked"
        out = raw(server, b"GET / HTTP/1.0\r\n\r\n")
        assert b"Transfer-Encoding" not in out and out.endswith(b"\r\n\r\none,two")


def test_head_has_no_body_but_the_length():
    with serving(validator(hello)) as server, socket.create_connection(server.address) as c:
        c.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        [(s1, h1, b1)] = responses(c, 1, method="HEAD")
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        [(s2, _, b2)] = responses(c, 1)
    assert (s1, h1["content-length"], b1) == (200, "13", b"")
    assert (s2, b2) == (200, b"Hello, World!")


def test_write_callable_and_exc_info():
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/write":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"written ")
            return [b"and returned"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("oops")
        except ValueError:
            start_response("503 Service Unavailable", [("Content-Length", "4")], sys.exc_info())
        return [b"sorry"[:4]]

    with serving(app) as server:
        [(s1, _, b1)] = in_thread(http_get, server.address, "/write")
        [(s2, _, b2)] = in_thread(http_get, server.address, "/err")
    assert (s1, b1) == (200, b"written and returned")
    assert (s2, b2) == (503, b"sorr")


def test_file_wrapper_uses_sendfile(tmp_path):
    path = tmp_path / "data.bin"
    payload = os.urandom(300000)
    path.write_bytes(payload)

    def app(environ, start_response):
        f = open(path, "rb")  # noqa: SIM115 (the server closes it)
        f.seek(1000)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 4096)

    with serving(app) as server:
        [(status, headers, body)] = in_thread(http_get, server.address, "/", "GET", None, None, 2)[
            1:
        ]
    assert status == 200
    assert headers["Content-Length"] == str(len(payload) - 1000)
    assert body == payload[1000:]


def test_app_exception_is_500_with_traceback_and_server_goes_on():
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("kaboom")
        return hello(environ, start_response)

    errors = io.StringIO()
    with serving(app, error_log=errors) as server:
        out = raw(server, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        assert b"Connection: close" in out
        [(status, _, body)] = in_thread(http_get, server.address)
        assert (status, body) == (200, b"Hello, World!")
    text = errors.getvalue()
    assert "Traceback" in text and "RuntimeError: kaboom" in text and "GET /boom" in text


def test_access_log_common_format():
    log = io.StringIO()
    with serving(hello, log=log) as server:
        in_thread(http_get, server.address, "/path?q=1")
        raw(server, b"garbage\r\n\r\n")
    lines = log.getvalue().splitlines()
    pattern = (
        r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "%s" %s %s \d+\.\d{6}'
    )
    assert re.fullmatch(pattern % (r"GET /path\?q=1 HTTP/1\.1", 200, 13), lines[0]), lines[0]
    assert re.fullmatch(pattern % ("garbage", 400, r"\d+"), lines[1]), lines[1]


# -- bad input: a clear 4xx, then the connection closes ---------------------------------------

BAD_REQUESTS = {
    "garbage": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    "bare LF": (b"GET / HTTP/1.1\nHost: x\n\n", None),
    "bare LF inside": (b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400),
    "obs-fold": (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400),
    "space before colon": (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    "non-numeric length": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400),
    "negative length": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    "duplicate length": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        400,
    ),
    "CL and TE": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
        400,
    ),
    "TE gzip, chunked": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    ),
    "bad chunk size": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        400,
    ),
    "chunk without CRLF": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
        400,
    ),
    "HTTP/2.0": (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    "two hosts": (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_input_gets_4xx_and_close(name):
    data, status = BAD_REQUESTS[name]

    def app(environ, start_response):
        environ["wsgi.input"].read()
        return hello(environ, start_response)

    with serving(app, error_log=None) as server:
        if status is not None:
            out = raw(server, data)  # returns at EOF: the server closed the connection
        else:  # bare LF only: no CRLFCRLF ever comes; closing our side ends it
            with socket.create_connection(server.address) as c:
                c.sendall(data)
                c.shutdown(socket.SHUT_WR)
                out = c.recv(1000)
            status = 400
        assert out.startswith(b"HTTP/1.1 %d " % status), out
        assert b"Connection: close" in out
        assert in_thread(http_get, server.address)[0][0] == 200


def test_limits_414_and_431():
    with serving(hello, max_request_line=100, max_header_fields=5) as server:
        out = raw(server, b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 414 ")
        out = raw(server, b"GET /" + b"a" * 20000)  # no line end at all
        assert out.startswith(b"HTTP/1.1 414 ")
        many = b"".join(b"X-%d: y\r\n" % i for i in range(10))
        out = raw(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        assert out.startswith(b"HTTP/1.1 431 ")
        out = raw(server, b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 70000 + b"\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 431 ")
        out = raw(server, b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 9000 + b"\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 431 ")


def test_half_request_then_close_and_slow_clients_do_not_hold_up_others():
    # keepalive (the idle reaper's limit) equal to network_timeout: a half request is no longer
    # idle, and a handler scheduled late (its bytes in, not yet read) is spared by the reaper,
    # so every stalled client gets its 408 (the virtual-clock tests below pin both cases).
    with serving(hello, keepalive=0.3, network_timeout=0.3) as server:
        slow = []
        try:
            for _ in range(20):
                s = socket.create_connection(server.address)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # half a request, then silence
                slow.append(s)
            results = in_thread(http_get, server.address, "/", "GET", None, None, 5)
            assert [r[0] for r in results] == [200] * 5
            # The stalled ones get 408 once the timeout passes.
            assert slow[0].recv(100).startswith(b"HTTP/1.1 408 ")
        finally:
            for s in slow:
                s.close()
        out = raw(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Half")
        assert out == b"" or out.startswith(b"HTTP/1.1 4")


def test_idle_keep_alive_connection_closed_after_timeout():
    with serving(hello, keepalive=0.2) as server, socket.create_connection(server.address) as c:
        c.settimeout(10)
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert responses(c, 1)[0][0] == 200
        assert c.recv(100) == b""  # closed by the server, without a response


def test_idle_reaper_closes_a_silent_connection_after_keepalive(clock):
    # No byte ever arrives: closed once keepalive has passed (the reaper checks 4 times a period).
    with serving(hello, keepalive=1.0) as server, socket.create_connection(server.address) as c:
        start = clock()
        assert c.recv(100) == b""
        assert 1.0 <= clock() - start <= 1.5


def test_idle_reaper_spares_a_connection_whose_request_arrived_but_has_not_run(clock):
    # The loaded machine, made deterministic: the next request's bytes arrive, then the hub is
    # late (the clock jumps past the keep-alive limit), so the reaper and the woken handler are
    # both ready in the same round, the reaper first. The handler must still serve the request:
    # the reaper sees the readable socket and leaves it alone.
    get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with serving(hello, keepalive=1.0) as server, socket.create_connection(server.address) as c:
        c.sendall(get)
        assert responses(c, 1)[0][0] == 200
        hub.sleep(0.5)  # idle for half the limit
        c.sendall(get)
        clock.jump(10.0)
        assert responses(c, 1)[0][0] == 200
        # Idle again and truly silent: closed after the limit as usual.
        start = clock()
        assert c.recv(100) == b""
        assert 1.0 <= clock() - start <= 1.5


def test_half_request_gets_408_after_network_timeout_even_with_shorter_keepalive(clock):
    # Once a request's first bytes are in, the connection is no longer idle: the request
    # timeout (network_timeout) applies and the client gets its 408, not a silent close at
    # the keep-alive limit.
    with (
        serving(hello, keepalive=0.1, network_timeout=2.0) as server,
        socket.create_connection(server.address) as c,
    ):
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        start = clock()
        assert c.recv(100).startswith(b"HTTP/1.1 408 ")
        assert clock() - start >= 2.0


# -- concurrency, stop, TLS -----------------------------------------------------------------------


def test_thousand_concurrent_keep_alive_clients():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2200
    if soft < need:
        if hard < need:
            pytest.skip(f"needs {need} file descriptors (RLIMIT_NOFILE hard limit is {hard})")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    try:
        with serving(hello, backlog=2048) as server:
            gate = hub.Event()

            def client():
                with socket.create_connection(server.address, timeout=30) as c:
                    gate.wait()
                    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    first = responses(c, 1)
                    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    return first + responses(c, 1)

            clients = [hub.spawn(client) for _ in range(1000)]
            hub.sleep(0.1)
            gate.set()
            hub.joinall(clients, timeout=50)
            assert all(g.successful() for g in clients)
            assert all([r[2] for r in g.value] == [b"Hello, World!"] * 2 for g in clients)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_graceful_stop_finishes_requests_in_flight():
    started = hub.Event()

    def app(environ, start_response):
        started.set()
        hub.sleep(0.3)
        return hello(environ, start_response)

    with serving(app) as server:
        idle = socket.create_connection(server.address)  # an idle keep-alive connection
        client = hub.spawn(raw, server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        started.wait(10)
        server.stop(timeout=10)
        out = client.get(timeout=10)
        assert out.startswith(b"HTTP/1.1 200 OK") and out.endswith(b"Hello, World!")
        assert b"Connection: close" in out  # stopping: no more keep-alive
        idle.settimeout(10)
        assert idle.recv(10) == b""  # closed at once, not after the idle timeout
        idle.close()


def test_tls(tmp_path):
    requests = require("requests")
    from tlsutil import make_certs

    certs = make_certs(str(tmp_path))

    def client(address):
        url = f"https://localhost:{address[1]}/x?y=1"
        with requests.Session() as s:
            return [s.get(url, verify=certs.ca, timeout=10).text for _ in range(2)]

    with serving(echo_environ, certfile=certs.server) as server:
        got = in_thread(client, server.address)
    assert "wsgi.url_scheme=https" in got[0] and "PATH_INFO=/x" in got[1]


# -- upgrade: a real websocket client -----------------------------------------------------------

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def websocket_echo(environ, start_response):
    """A minimal websocket server: the handshake, then echo text frames until a close frame."""
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        return hello(environ, start_response)
    sock = environ["hub.socket"]
    key = environ["HTTP_SEC_WEBSOCKET_KEY"].encode()
    accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
    sock.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    f = sock.makefile("rb")
    try:
        while True:
            b0, b1 = f.read(2)
            length = b1 & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", f.read(2))
            mask = f.read(4)
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(f.read(length)))
            opcode = b0 & 0x0F
            if opcode == 8:
                sock.sendall(b"\x88\x00")
                return []
            reply = b"echo: " + payload
            sock.sendall(bytes([0x81, len(reply)]) + reply)
    finally:
        f.close()


def test_upgrade_hands_the_socket_to_a_websocket_app():
    websocket = require("websocket")

    def client(address):
        ws = websocket.create_connection(f"ws://{address[0]}:{address[1]}/ws", timeout=10)
        try:
            out = []
            for word in ("hello", "world"):
                ws.send(word)
                out.append(ws.recv())
            return out
        finally:
            ws.close()

    with serving(websocket_echo) as server:
        assert in_thread(client, server.address) == ["echo: hello", "echo: world"]
        assert in_thread(http_get, server.address)[0][0] == 200


# -- wrk ------------------------------------------------------------------------------------------


def test_wrk_keep_alive_load():
    wrk = require_program("wrk")
    with serving(hello) as server:
        url = f"http://127.0.0.1:{server.server_port}/"
        proc = in_thread(_run_capture, [wrk, "-t1", "-c20", "-d1s", url])
    assert "Non-2xx" not in proc.stdout and "Socket errors" not in proc.stdout, proc.stdout
    assert int(re.search(r"(\d+) requests in", proc.stdout).group(1)) > 100


def _run_capture(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_client_leaving_mid_response_is_not_an_error():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        for _ in range(2000 if environ["PATH_INFO"] == "/big" else 1):
            hub.sleep(0)
            yield b"x" * 65536

    errors = io.StringIO()
    with serving(app, error_log=errors) as server:
        c = socket.create_connection(server.address)
        c.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(100).startswith(b"HTTP/1.1 200 OK")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # a reset while the server is still sending
        hub.sleep(0.3)
        assert in_thread(http_get, server.address)[0][0] == 200
    assert errors.getvalue() == ""


class _GreenThread:
    """What simple-websocket needs of a thread class, as a greenlet."""

    def __init__(self, target):
        self._target = target
        self.name = "green-(_thread)"

    def start(self):
        hub.spawn(self._target)


def test_simple_websocket_server_side():
    simple_websocket = require("simple_websocket")
    websocket = require("websocket")
    from hub import selectors

    def app(environ, start_response):
        environ["werkzeug.socket"] = environ["hub.socket"]  # where simple-websocket looks
        ws = simple_websocket.Server.accept(
            environ,
            thread_class=_GreenThread,
            event_class=hub.Event,
            selector_class=selectors.DefaultSelector,
        )
        try:
            while True:
                ws.send("echo: " + ws.receive(timeout=10))
        except simple_websocket.ConnectionClosed:
            pass
        return []

    def client(address):
        ws = websocket.create_connection(f"ws://{address[0]}:{address[1]}/", timeout=10)
        try:
            ws.send("one")
            first = ws.recv()
            ws.send("two")
            return [first, ws.recv()]
        finally:
            ws.close()

    with serving(app) as server:
        assert in_thread(client, server.address) == ["echo: one", "echo: two"]


def test_application_date_header_is_not_doubled():
    def app(environ, start_response):
        start_response(
            "200 OK", [("Date", "Thu, 01 Jan 2026 00:00:00 GMT"), ("Content-Length", "0")]
        )
        return [b""]

    with serving(app) as server:
        out = raw(server, b"GET / HTTP/1.0\r\n\r\n")
    assert out.count(b"Date: ") == 1 and b"Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n" in out
