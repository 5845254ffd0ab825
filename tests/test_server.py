"""hub.server: StreamServer and DatagramServer with real sockets on 127.0.0.1."""

from __future__ import annotations

import errno
import resource
import ssl as stdlib_ssl

import pytest

import hub
from hub import socket
from hub import ssl as hub_ssl
from hub.server import DatagramServer, StreamServer, parse_address


def echo(conn, address):
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def roundtrip(address, payload=b"hello"):
    with socket.create_connection(address) as c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            data = c.recv(65536)
            if not data:
                return out
            out += data


def test_stream_server_echoes_for_many_clients():
    with StreamServer(("127.0.0.1", 0), echo) as server:
        server.start()
        assert server.started
        assert server.server_host == "127.0.0.1"
        assert server.server_port > 0
        results = [hub.spawn(roundtrip, server.address, b"x%d" % i) for i in range(50)]
        hub.joinall(results)
        assert [g.value for g in results] == [b"x%d" % i for i in range(50)]
    assert not server.started
    assert server.closed


def test_listener_as_bound_socket_and_address_strings():
    plain = __import__("socket").socket()
    plain.bind(("127.0.0.1", 0))
    port = plain.getsockname()[1]
    server = StreamServer(plain, echo)
    server.start()
    try:
        assert server.server_port == port
        assert roundtrip(("127.0.0.1", port)) == b"hello"
    finally:
        server.stop()
    assert parse_address(":8000") == (socket.AF_INET, ("", 8000))
    assert parse_address("[::1]:80") == (socket.AF_INET6, ("::1", 80))
    with pytest.raises(ValueError):
        parse_address("nonsense")


def test_subclass_handle_and_socket_closed_after_handle():
    class Hello(StreamServer):
        def handle(self, conn, address):
            conn.sendall(b"hi")

    with Hello(("127.0.0.1", 0)) as server:
        server.start()
        assert roundtrip(server.address, b"") == b"hi"  # EOF: the server closed it


def test_pool_size_pauses_accepting():
    gate = hub.Event()
    active = []

    def handle(conn, address):
        active.append(1)
        gate.wait()
        conn.sendall(b"done")

    server = StreamServer(("127.0.0.1", 0), handle, spawn=2)
    server.start()
    try:
        clients = [hub.spawn(roundtrip, server.address, b"") for _ in range(4)]
        hub.sleep(0.2)
        assert len(active) == 2  # the other two wait in the backlog
        gate.set()
        hub.joinall(clients, timeout=10)
        assert [g.value for g in clients] == [b"done"] * 4
        assert len(active) == 4
    finally:
        server.stop()


def test_spawn_none_serves_in_the_accept_loop():
    server = StreamServer(("127.0.0.1", 0), echo, spawn=None)
    server.start()
    try:
        assert roundtrip(server.address) == b"hello"
        assert roundtrip(server.address, b"again") == b"again"
    finally:
        server.stop()


def test_stop_lets_handlers_finish_then_kills():
    finished = []

    def quick(conn, address):
        hub.sleep(0.1)
        finished.append("quick")

    def stuck(conn, address):
        try:
            hub.sleep(60)
        finally:
            finished.append("killed")

    for handler, expected in ((quick, "quick"), (stuck, "killed")):
        server = StreamServer(("127.0.0.1", 0), handler)
        server.start()
        c = socket.create_connection(server.address)
        hub.sleep(0.05)
        server.stop(timeout=0.5)
        c.close()
        assert finished[-1] == expected
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(server.address)


def test_serve_forever_returns_after_stop_from_another_greenlet():
    server = StreamServer(("127.0.0.1", 0), echo)
    hub.spawn_later(0.1, server.stop)
    with hub.Timeout(10):
        server.serve_forever()
    assert not server.started


def test_start_twice_and_restart_after_close_are_errors():
    server = StreamServer(("127.0.0.1", 0), echo)
    server.start()
    with pytest.raises(RuntimeError):
        server.start()
    server.stop()
    with pytest.raises(RuntimeError):
        server.start()


def test_handler_error_is_reported_and_server_keeps_serving(capsys):
    def handle(conn, address):
        if conn.recv(10) == b"boom":
            raise ValueError("bad handler")
        conn.sendall(b"ok")

    with StreamServer(("127.0.0.1", 0), handle) as server:
        server.start()
        roundtrip(server.address, b"boom")
        hub.sleep(0.05)
        assert roundtrip(server.address, b"fine") == b"ok"
    assert "ValueError: bad handler" in capsys.readouterr().err


def test_emfile_backs_off_and_recovers():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    server = StreamServer(("127.0.0.1", 0), echo)
    server.start()
    client = socket.create_connection(server.address)
    hogs = []
    try:
        # Use up every fd, so the server's accept() fails with EMFILE.
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        try:
            while True:
                hogs.append(open("/dev/null"))  # noqa: SIM115
        except OSError as exc:
            assert exc.errno == errno.EMFILE
        hub.sleep(0.3)  # the accept loop meets EMFILE and backs off instead of spinning or dying
        assert server.started
        for f in hogs:
            f.close()
        hogs.clear()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        with hub.Timeout(10):
            client.sendall(b"late")
            assert client.recv(10) == b"late"
    finally:
        for f in hogs:
            f.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        client.close()
        server.stop()


def test_tls_with_certfile_and_with_context(tmp_path):
    from tlsutil import make_certs

    certs = make_certs(str(tmp_path))
    client_ctx = hub_ssl.create_default_context(cafile=certs.ca)
    context = stdlib_ssl.SSLContext(stdlib_ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.server)
    for kwargs in ({"certfile": certs.server}, {"ssl_context": context}):
        with StreamServer(("127.0.0.1", 0), echo, **kwargs) as server:
            server.start()
            # A client that never handshakes does not hold up the others.
            idle = socket.create_connection(server.address)
            with (
                socket.create_connection(server.address) as raw,
                client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                tls.sendall(b"secret")
                assert tls.recv(100) == b"secret"
            idle.close()


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        StreamServer(("127.0.0.1", 0), echo, nonsense=1)
    with pytest.raises(TypeError):
        StreamServer(("127.0.0.1", 0), echo, spawn=object())


def test_datagram_server_replies():
    class Echo(DatagramServer):
        def handle(self, data, address):
            self.sendto(data.upper(), address)

    with Echo(("127.0.0.1", 0)) as server:
        server.start()
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            c.settimeout(10)
            for word in (b"one", b"two"):
                c.sendto(word, server.address)
                assert c.recvfrom(100)[0] == word.upper()
        finally:
            c.close()
