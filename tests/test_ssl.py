"""hub.ssl: the stdlib ssl API, cooperative, with the stdlib's modes, timeouts, EOFs and errors.

The same tests run three ways: here, against ``hub.ssl`` and ``hub.socket`` directly; and, from
tests/test_ssl_patched.py, in a fresh interpreter under ``patch_all()`` called first thing or
after ssl, requests, urllib3 and urllib.request were imported. Under patching they use the
stdlib's own ``ssl`` and ``socket`` modules, so they check what patched programs get.
"""

from __future__ import annotations

import errno
import os
import ssl as stdlib_ssl
import sys

import pytest
from tlsutil import describe, make_certs, stdlib_reference

import hub
import monkeypatch
from hub._core import get_hub

PATCHED = monkeypatch.is_object_patched("ssl", "SSLContext.sslsocket_class")
if PATCHED:
    import socket as net
    import ssl as tls
else:
    from hub import socket as net
    from hub import ssl as tls

from hub.ssl import SSLSocket as CooperativeSSLSocket  # noqa: E402


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def reference(certs):
    return stdlib_reference(certs)


def server_context(certs):
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server)
    return ctx


def client_context(certs):
    return tls.create_default_context(cafile=certs.ca)


def tcp_pair():
    listener = net.create_server(("127.0.0.1", 0))
    with listener:
        client = net.create_connection(listener.getsockname(), timeout=30)
        server, _ = listener.accept()
    return client, server


def tls_pair(certs, client_ctx=None, server_ctx=None, **client_kwargs):
    """A connected (client, server) pair of TLS sockets, handshakes done."""
    c, s = tcp_pair()
    server_ctx = server_ctx or server_context(certs)
    accepting = hub.spawn(server_ctx.wrap_socket, s, server_side=True)
    client_ctx = client_ctx or client_context(certs)
    client = client_ctx.wrap_socket(c, server_hostname="localhost", **client_kwargs)
    return client, accepting.get(timeout=30)


@pytest.fixture
def pair(certs):
    a, b = tls_pair(certs)
    yield a, b
    a.close()
    b.close()


def registered_waiters():
    return get_hub().statistics().fds_awaited


class EchoServer:
    """A cooperative TLS echo server, one greenlet per connection; ``close()`` ends it all."""

    def __init__(self, certs, backlog=1024):
        self.listener = server_context(certs).wrap_socket(
            net.create_server(("127.0.0.1", 0), backlog=backlog), server_side=True
        )
        self.address = self.listener.getsockname()
        self.connections = []
        self.handlers = []
        self.server = hub.spawn(self._serve)

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except (OSError, stdlib_ssl.SSLError):
                continue  # a client that failed its handshake (the stdlib closed its socket)
            self.connections.append(conn)
            self.handlers.append(hub.spawn(self._handle, conn))

    def _handle(self, conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    def close(self):
        self.server.kill()
        hub.killall(self.handlers)
        for conn in self.connections:
            conn.close()
        self.listener.close()


# -- identity -------------------------------------------------------------------------------------


def test_sockets_are_cooperative_and_stdlib_typed(pair):
    a, b = pair
    for s in (a, b):
        assert type(s) is CooperativeSSLSocket
        assert isinstance(s, stdlib_ssl.SSLSocket)
        assert isinstance(s, hub.socket.socket)
        assert s.version() == "TLSv1.3"
        assert not os.get_blocking(s.fileno())
    assert a.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
    assert b.getpeercert() is None  # the client sent no certificate
    assert a.cipher() == b.cipher()
    assert a.pending() == 0 and a.selected_alpn_protocol() is None
    assert a.server_hostname == "localhost" and not a.server_side and b.server_side


def test_contexts_keep_the_stdlib_settings():
    ours = tls.create_default_context()
    ref = stdlib_ssl.create_default_context()
    assert isinstance(ours, stdlib_ssl.SSLContext)
    assert ours.sslsocket_class is CooperativeSSLSocket
    for attr in ("verify_mode", "check_hostname", "options", "minimum_version", "verify_flags"):
        assert getattr(ours, attr) == getattr(ref, attr), attr
    assert ours.cert_store_stats() == ref.cert_store_stats()
    server = tls.create_default_context(tls.Purpose.CLIENT_AUTH)
    assert server.verify_mode == tls.CERT_NONE and not server.check_hostname
    # The stdlib's property setters refer to their class by its module global: no recursion.
    ours.options |= tls.OP_NO_COMPRESSION
    ours.verify_mode = tls.CERT_REQUIRED
    ours.minimum_version = tls.TLSVersion.TLSv1_2
    unverified = tls._create_unverified_context()
    assert unverified.verify_mode == tls.CERT_NONE
    assert unverified.sslsocket_class is CooperativeSSLSocket


def test_alpn_and_alpn_selection(certs):
    server_ctx = server_context(certs)
    server_ctx.set_alpn_protocols(["h2", "http/1.1"])
    client_ctx = client_context(certs)
    client_ctx.set_alpn_protocols(["http/1.1"])
    a, b = tls_pair(certs, client_ctx, server_ctx)
    with a, b:
        assert a.selected_alpn_protocol() == b.selected_alpn_protocol() == "http/1.1"


# -- data transfer --------------------------------------------------------------------------------


def test_echo_with_hundreds_of_concurrent_clients(certs):
    server = EchoServer(certs)
    ctx = client_context(certs)
    address = server.address

    def client(i):
        raw = net.create_connection(address, timeout=60)
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            for j in range(5):
                msg = f"client {i} message {j}".encode()
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    got += s.recv(1024)
                assert got == msg
            return i

    clients = [hub.spawn(client, i) for i in range(300)]
    assert [g.get(timeout=60) for g in clients] == list(range(300))
    server.close()


def test_ten_megabytes_each_way_through_one_connection(pair):
    a, b = pair
    payload = os.urandom(1 << 20) * 10

    def receive(s):
        chunks, total = [], 0
        while total < len(payload):
            chunk = s.recv(1 << 16)
            assert chunk
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)

    readers = [hub.spawn(receive, b), hub.spawn(receive, a)]
    writers = [hub.spawn(a.sendall, payload), hub.spawn(b.write, payload)]
    hub.joinall(writers, raise_error=True, timeout=120)
    assert readers[0].get(timeout=120) == payload
    assert readers[1].get(timeout=120) == payload


def test_recv_variants_and_read(pair):
    a, b = pair
    a.sendall(b"abcdef")
    buf = bytearray(4)
    assert b.recv_into(buf) == 4 and buf == b"abcd"
    assert b.read(10) == b"ef"
    a.write(b"xyz")
    view = memoryview(bytearray(10))
    assert b.read(10, view) == 3 and view[:3] == b"xyz"
    a.send(b"sent")
    assert b.recv(100) == b"sent"
    with pytest.raises(ValueError):
        a.send(b"x", 1)
    with pytest.raises(ValueError):
        a.recv(10, 1)


def test_recv_waits_for_data(pair):
    a, b = pair
    got = hub.spawn(b.recv, 10)
    hub.sleep(0)
    assert not got.ready()
    a.sendall(b"late")
    assert got.get(timeout=10) == b"late"


def test_makefile(pair):
    a, b = pair
    wf = a.makefile("wb")
    rf = b.makefile("rb")
    wf.write(b"line one\nline two\n")
    wf.flush()
    assert rf.readline() == b"line one\n"
    assert rf.readline() == b"line two\n"
    text = b.makefile("w", encoding="utf-8")
    text.write("héllo\n")
    text.flush()
    assert a.makefile("r", encoding="utf-8").readline() == "héllo\n"
    for f in (wf, rf, text):
        f.close()


def test_sendfile(pair, tmp_path):
    a, b = pair
    payload = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "payload"
    path.write_bytes(payload)

    def receive():
        received = b""
        while len(received) < len(payload) - 10 - 5:
            received += b.recv(1 << 16)
        return received

    r = hub.spawn(receive)
    with open(path, "rb") as f:
        assert a.sendfile(f, offset=10, count=len(payload) - 15) == len(payload) - 15
        assert f.tell() == len(payload) - 5
    assert r.get(timeout=60) == payload[10:-5]


# -- EOF, unwrap, shutdown ------------------------------------------------------------------------


def test_close_notify_gives_eof(pair):
    a, b = pair
    unwrapping = hub.spawn(a.unwrap)  # sends close_notify, then waits for the peer's
    assert b.recv(10) == b""
    assert not unwrapping.ready()
    b.unwrap()
    assert unwrapping.get(timeout=10) is a


def test_ragged_eof(certs):
    a, b = tls_pair(certs)
    with a, b:
        b.close()  # no close_notify: a ragged EOF
        assert a.recv(10) == b""  # suppress_ragged_eofs=True, the default
    a, b = tls_pair(certs, suppress_ragged_eofs=False)
    with a, b:
        b.close()
        with pytest.raises(stdlib_ssl.SSLEOFError):
            a.recv(10)


def test_unwrap_both_sides_then_plain_text(pair):
    a, b = pair
    unwrapping = hub.spawn(b.unwrap)
    plain_a = a.unwrap()
    plain_b = unwrapping.get(timeout=10)
    assert plain_a is a and plain_b is b
    assert a.version() is None and a._sslobj is None
    a.sendall(b"plain text")
    assert b.recv(100) == b"plain text"
    with pytest.raises(ValueError, match="No SSL wrapper"):
        a.unwrap()


def test_starttls_upgrade(certs):
    c, s = tcp_pair()
    with c, s:
        c.sendall(b"STARTTLS\r\n")
        assert s.recv(100) == b"STARTTLS\r\n"
        server = hub.spawn(server_context(certs).wrap_socket, s, server_side=True)
        client = client_context(certs).wrap_socket(c, server_hostname="localhost")
        server = server.get(timeout=10)
        with client, server:
            client.sendall(b"secret")
            assert server.recv(100) == b"secret"


# -- connect and accept on TLS sockets ------------------------------------------------------------


def test_connect_and_connect_ex_on_a_wrapped_socket(certs):
    server = EchoServer(certs)
    ctx = client_context(certs)
    with ctx.wrap_socket(net.socket(), server_hostname="localhost") as s:
        s.settimeout(30)
        s.connect(server.address)
        assert type(s) is CooperativeSSLSocket and s.version() == "TLSv1.3"
        s.sendall(b"connected")
        assert s.recv(100) == b"connected"
    with ctx.wrap_socket(net.socket(), server_hostname="localhost") as s:
        assert s.connect_ex(server.address) == 0
        s.sendall(b"connect_ex")
        assert s.recv(100) == b"connect_ex"
    server.close()


def test_get_server_certificate(certs):
    server = EchoServer(certs)
    pem = tls.get_server_certificate(server.address, ca_certs=certs.ca, timeout=30)
    with open(certs.server) as f:
        assert pem.strip() in f.read()
    server.close()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="ssl.wrap_socket was removed in 3.12")
def test_module_wrap_socket(certs):
    server = EchoServer(certs)
    raw = net.create_connection(server.address, timeout=30)
    with pytest.warns(DeprecationWarning):
        s = tls.wrap_socket(raw, ca_certs=certs.ca, cert_reqs=tls.CERT_REQUIRED)
    with s:
        assert type(s) is CooperativeSSLSocket
        s.sendall(b"legacy")
        assert s.recv(100) == b"legacy"
    server.close()


# -- failures as the stdlib reports them ----------------------------------------------------------


def failed_handshake(certs, ctx, hostname):
    server = EchoServer(certs)
    try:
        raw = net.create_connection(server.address, timeout=30)
        with raw, ctx.wrap_socket(raw, server_hostname=hostname):
            pass
    except Exception as exc:
        return exc
    finally:
        server.close()
    return None


def test_hostname_mismatch_fails_as_in_the_stdlib(certs, reference):
    exc = failed_handshake(certs, client_context(certs), "example.org")
    assert isinstance(exc, stdlib_ssl.SSLCertVerificationError)
    assert describe(exc) == reference["mismatch"]


def test_untrusted_ca_fails_as_in_the_stdlib(certs, reference):
    exc = failed_handshake(certs, tls.create_default_context(), "localhost")
    assert isinstance(exc, stdlib_ssl.SSLCertVerificationError)
    assert describe(exc) == reference["untrusted"]


def test_peer_closing_mid_handshake_fails_as_in_the_stdlib(certs, reference):
    listener = net.create_server(("127.0.0.1", 0))

    def close_after_hello():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)

    server = hub.spawn(close_after_hello)
    raw = net.create_connection(listener.getsockname(), timeout=30)
    with pytest.raises(OSError) as info:
        client_context(certs).wrap_socket(raw, server_hostname="localhost")
    assert describe(info.value) == reference["closed"]
    server.get(timeout=10)
    listener.close()
    assert raw.fileno() == -1  # wrap_socket closed it, as the stdlib does


def test_server_survives_clients_that_fail(certs):
    server = EchoServer(certs)
    address = server.address
    # A client that disconnects mid-handshake, and one that is not TLS at all.
    for garbage in (b"\x16\x03\x01\x00", b"GET / HTTP/1.0\r\n\r\n"):
        with net.create_connection(address, timeout=30) as raw:
            raw.sendall(garbage)
    raw = net.create_connection(address, timeout=30)
    with client_context(certs).wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"still serving")
        assert s.recv(100) == b"still serving"
    server.close()


# -- timeouts, on a virtual clock -----------------------------------------------------------------


def test_handshake_timeout(clock, certs, reference):
    listener = net.create_server(("127.0.0.1", 0))
    with listener:
        raw = net.create_connection(listener.getsockname())
        peer, _ = listener.accept()
        with peer:
            raw.settimeout(5)
            start = clock()
            with pytest.raises(TimeoutError) as info:
                client_context(certs).wrap_socket(raw, server_hostname="localhost")
            assert clock() - start == pytest.approx(5)
            assert describe(info.value) == reference["timeout"]
            assert registered_waiters() == 0


def test_server_handshake_timeout(clock, certs):
    listener = server_context(certs).wrap_socket(
        net.create_server(("127.0.0.1", 0)), server_side=True
    )
    with listener:
        listener.settimeout(3)  # accepted sockets get the default timeout; set it there
        raw = net.create_connection(listener.getsockname())
        with raw:
            conn, _ = net.socket.accept(listener)  # plain accept, then a timed handshake
            conn.settimeout(3)
            with pytest.raises(TimeoutError, match="handshake operation timed out"):
                server_context(certs).wrap_socket(conn, server_side=True)
            assert clock() == pytest.approx(3)


def test_read_timeout(clock, pair):
    a, _ = pair
    a.settimeout(2)
    start = clock()
    for op in (lambda: a.recv(1), lambda: a.recv_into(bytearray(1)), lambda: a.read(1)):
        with pytest.raises(TimeoutError) as info:
            op()
        assert str(info.value) == "The read operation timed out"
    assert clock() - start == pytest.approx(6)
    assert registered_waiters() == 0


def test_write_timeout(clock, pair):
    a, _ = pair
    a.settimeout(3)
    start = clock()
    with pytest.raises(TimeoutError) as info:
        a.sendall(b"w" * (64 << 20))  # the peer never reads
    assert str(info.value) == "The write operation timed out"
    assert clock() - start == pytest.approx(3)
    assert registered_waiters() == 0


def test_one_deadline_per_write(clock, pair):
    a, b = pair
    a.settimeout(5)

    def slow_reader():
        while True:
            hub.sleep(2)
            if not b.recv(1 << 16):
                return

    reader = hub.spawn(slow_reader)
    with pytest.raises(TimeoutError):
        a.write(b"z" * (64 << 20))  # progress every 2 s; the whole call still ends at 5 s
    assert clock() == pytest.approx(5, abs=0.01)
    reader.kill()


def test_unwrap_timeout(clock, pair):
    a, _ = pair
    a.settimeout(4)
    with pytest.raises(TimeoutError, match="The read operation timed out"):
        a.unwrap()  # the peer never answers the close_notify
    assert clock() == pytest.approx(4)


# -- non-blocking mode ---------------------------------------------------------------------


def test_nonblocking_mode_raises_like_the_stdlib(certs):
    c, s = tcp_pair()
    c.setblocking(False)
    s.setblocking(False)
    client = client_context(certs).wrap_socket(
        c, server_hostname="localhost", do_handshake_on_connect=False
    )
    server = server_context(certs).wrap_socket(s, server_side=True, do_handshake_on_connect=False)
    with client, server:
        # A handshake driven by hand, the way non-blocking stdlib code does it: try each side,
        # and when neither can progress, wait a little.
        done = set()
        for _ in range(10000):
            if len(done) == 2:
                break
            for side in (client, server):
                if side not in done:
                    try:
                        side.do_handshake()
                        done.add(side)
                    except (stdlib_ssl.SSLWantReadError, stdlib_ssl.SSLWantWriteError):
                        pass
            hub.sleep(0.001)
        assert len(done) == 2
        with pytest.raises(stdlib_ssl.SSLWantReadError):
            client.recv(10)
        with pytest.raises(stdlib_ssl.SSLWantReadError):
            client.recv_into(bytearray(10))
        server.send(b"ready")
        hub.wait_read(client, timeout=10)
        assert client.recv(10) == b"ready"


def test_nonblocking_socket_with_handshake_on_connect_is_refused(certs):
    c, s = tcp_pair()
    with s:
        c.setblocking(False)
        with pytest.raises(ValueError, match="non-blocking"):
            client_context(certs).wrap_socket(c, server_hostname="localhost")


def test_blocking_handshake_on_a_nonblocking_socket(certs):
    c, s = tcp_pair()
    server = hub.spawn(server_context(certs).wrap_socket, s, server_side=True)
    c.setblocking(False)
    client = client_context(certs).wrap_socket(
        c, server_hostname="localhost", do_handshake_on_connect=False
    )
    with client:
        client.do_handshake(block=True)
        assert client.version() == "TLSv1.3" and client.gettimeout() == 0.0
        server.get(timeout=10).close()


# -- killed while blocked -------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["handshake", "recv", "unwrap"])
def test_killed_while_blocked_leaves_nothing_registered(certs, what):
    if what == "handshake":
        c, s = tcp_pair()
        g = hub.spawn(client_context(certs).wrap_socket, c, server_hostname="localhost")
    else:
        c, s = tls_pair(certs)
        g = hub.spawn(c.recv if what == "recv" else c.unwrap, *((10,) if what == "recv" else ()))
    hub.sleep(0)
    hub.sleep(0)
    assert not g.ready()
    assert registered_waiters() != 0
    g.kill()
    assert registered_waiters() == 0
    c.close()
    s.close()


def test_close_wakes_a_blocked_reader(pair):
    # The stdlib's blocking read, when another thread closes the socket under it, ends as at a
    # ragged EOF, b'', up to 3.12 and with OSError(EBADF) from 3.13 (measured: at its timeout,
    # or when the peer next sends or closes; tests/test_closing.py compares with it). Here it is
    # woken at once.
    a, _ = pair
    g = hub.spawn(a.recv, 10)
    hub.sleep(0)
    a.close()
    if sys.version_info >= (3, 13):
        with pytest.raises(OSError) as info:
            g.get(timeout=10)
        assert info.value.errno == errno.EBADF
    else:
        assert g.get(timeout=10) == b""
