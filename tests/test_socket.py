"""hub.socket: the stdlib socket API, cooperative, with the stdlib's modes, timeouts and errors."""

from __future__ import annotations

import array
import errno
import gc
import os
import socket as stdlib_socket
import struct
import sys

import pytest

import hub
from hub import socket
from hub._core import get_hub


def tcp_pair():
    """A connected (client, server) pair of cooperative TCP sockets."""
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        client = socket.create_connection(listener.getsockname(), timeout=10)
        server, _ = listener.accept()
    return client, server


@pytest.fixture
def pair():
    a, b = tcp_pair()
    yield a, b
    a.close()
    b.close()


def registered_waiters():
    return get_hub().statistics().fds_awaited


# -- identity and modes --------------------------------------------------------------------


def test_is_a_stdlib_socket(pair):
    a, _ = pair
    assert isinstance(a, stdlib_socket.socket)
    assert isinstance(a, stdlib_socket.SocketType)
    assert type(a) is socket.socket
    assert socket.timeout is TimeoutError is stdlib_socket.timeout
    assert socket.AF_INET == stdlib_socket.AF_INET
    assert socket.error is OSError


def test_fd_is_nonblocking_but_modes_are_the_users():
    s = socket.socket()
    with s:
        assert s.gettimeout() is None and s.getblocking()
        assert not os.get_blocking(s.fileno())
        s.settimeout(2.5)
        assert s.gettimeout() == 2.5 and s.timeout == 2.5 and s.getblocking()
        s.setblocking(False)
        assert s.gettimeout() == 0.0 and not s.getblocking()
        s.setblocking(True)
        assert s.gettimeout() is None
        with pytest.raises(ValueError):
            s.settimeout(-1)
        with pytest.raises(TypeError):
            s.settimeout("soon")
        assert not os.get_blocking(s.fileno())


def test_default_timeout_is_honoured():
    old = stdlib_socket.getdefaulttimeout()
    stdlib_socket.setdefaulttimeout(3.0)
    try:
        s = socket.socket()
        assert s.gettimeout() == 3.0
        s.close()
        listener = socket.create_server(("127.0.0.1", 0))
        with listener:
            c = socket.create_connection(listener.getsockname())
            conn, _ = listener.accept()
            assert conn.gettimeout() == 3.0 and c.gettimeout() == 3.0
            conn.close()
            c.close()
    finally:
        stdlib_socket.setdefaulttimeout(old)


def test_nonblocking_mode_raises_blockingioerror(pair):
    a, b = pair
    a.setblocking(False)
    with pytest.raises(BlockingIOError):
        a.recv(10)
    with pytest.raises(BlockingIOError):
        a.recv_into(bytearray(10))
    b.sendall(b"x")
    hub.wait_read(a, timeout=5)
    assert a.recv(10) == b"x"
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_nonblocking_connect_raises_and_completes():
    listener = socket.create_server(("127.0.0.1", 0))
    with listener, socket.socket() as c:
        c.setblocking(False)
        err = c.connect_ex(listener.getsockname())
        assert err in (0, errno.EINPROGRESS)
        hub.wait_write(c, timeout=5)
        assert c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0


# -- data transfer ------------------------------------------------------------------------


def test_echo_between_greenlets(pair):
    a, b = pair

    def echo():
        while True:
            data = b.recv(100)
            if not data:
                return
            b.sendall(data)

    g = hub.spawn(echo)
    for i in range(50):
        msg = f"message {i}".encode()
        a.sendall(msg)
        assert a.recv(100) == msg
    a.shutdown(socket.SHUT_WR)
    g.get(timeout=10)


def test_recv_variants(pair):
    a, b = pair
    b.sendall(b"abcdef")
    buf = bytearray(3)
    assert a.recv_into(buf) == 3 and buf == b"abc"
    assert a.recv_into(buf, 2) == 2 and buf[:2] == b"de"
    assert a.recv_into(buffer=buf, nbytes=1) == 1 and buf[:1] == b"f"
    b.sendall(b"xyz")
    data, _addr = a.recvfrom(10)
    assert data == b"xyz"
    b.sendall(b"123")
    n, _ = a.recvfrom_into(buf)
    assert n == 3 and buf == b"123"
    b.sendall(b"m")
    data, anc, _flags, _ = a.recvmsg(10)
    assert data == b"m" and anc == []
    b.sendall(b"n")
    n, anc, _flags, _ = a.recvmsg_into([buf])
    assert n == 1 and buf[:1] == b"n"


def test_recv_waits_for_data(pair):
    a, b = pair
    got = hub.spawn(a.recv, 10)
    hub.sleep(0)
    assert not got.ready()
    b.send(b"late")
    assert got.get(timeout=10) == b"late"


def test_send_sendto_sendmsg(pair):
    a, b = pair
    assert a.send(b"one") == 3
    assert a.sendmsg([b"two", b"three"]) == 8
    received = b""
    while len(received) < 11:
        received += b.recv(100)
    assert received == b"onetwothree"


def test_sendall_accepts_any_buffer(pair):
    a, b = pair
    arr = array.array("i", range(100))
    a.sendall(arr)
    a.sendall(memoryview(b"tail"))
    expected = arr.tobytes() + b"tail"
    received = b""
    while len(received) < len(expected):
        received += b.recv(4096)
    assert received == expected


def test_udp_sendto_recvfrom():
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with a, b:
        b.bind(("127.0.0.1", 0))
        reader = hub.spawn(b.recvfrom, 100)
        hub.sleep(0)
        a.sendto(b"datagram", b.getsockname())
        data, _addr = reader.get(timeout=10)
        assert data == b"datagram"
        a.sendto(b"by name", ("localhost", b.getsockname()[1]))
        assert b.recvfrom(100)[0] == b"by name"


def test_twenty_megabytes_through_sendall(pair):
    a, b = pair
    payload = os.urandom(1024) * (20 * 1024)

    def reader():
        chunks = []
        total = 0
        while total < len(payload):
            chunk = b.recv(1 << 20)
            assert chunk
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)

    r = hub.spawn(reader)
    a.sendall(payload)
    assert r.get(timeout=60) == payload


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
    wf.close()
    rf.close()
    text.close()


def test_sendfile(pair, tmp_path):
    a, b = pair
    path = tmp_path / "payload"
    payload = os.urandom(3 * 1024 * 1024)
    path.write_bytes(payload)

    def reader():
        received = b""
        while len(received) < len(payload) - 10:
            received += b.recv(1 << 20)
        return received

    r = hub.spawn(reader)
    with open(path, "rb") as f:
        assert a.sendfile(f, offset=10) == len(payload) - 10
        assert f.tell() == len(payload)
    assert r.get(timeout=30) == payload[10:]


def test_dup_and_fromfd(pair):
    a, b = pair
    d = a.dup()
    f = socket.fromfd(a.fileno(), a.family, a.type)
    with d, f:
        assert type(d) is socket.socket and type(f) is socket.socket
        d.sendall(b"via dup")
        assert b.recv(100) == b"via dup"
        f.sendall(b"via fromfd")
        assert b.recv(100) == b"via fromfd"
        a.settimeout(4)
        with a.dup() as d4:
            assert d4.gettimeout() == 4


def test_detach_restores_blocking_mode(pair):
    a, _ = pair
    a.settimeout(None)  # blocking: the stdlib's fd would be in blocking mode
    fd = a.detach()
    try:
        assert os.get_blocking(fd)
        assert a.fileno() == -1
    finally:
        os.close(fd)


def test_settimeout_after_another_socket_detached_the_fd(pair):
    # What the stdlib's SSLSocket._create does: a new socket on the fd, the old one detached (which
    # leaves the fd blocking), then settimeout() on the new one, which must make it non-blocking.
    a, b = pair
    for value in (None, 2.5):
        a.settimeout(value)  # both values seen before: settimeout's fast path applies
        a.settimeout(None)
        new = socket.socket(a.family, a.type, a.proto, fileno=a.fileno())
        a.detach()
        assert os.get_blocking(new.fileno())
        new.settimeout(value)
        assert not os.get_blocking(new.fileno()) and new.gettimeout() == value
        new.settimeout(value)
        assert not os.get_blocking(new.fileno())
        a = new
    with a:
        g = hub.spawn(a.recv, 5)
        hub.sleep(0)
        b.sendall(b"hello")
        assert g.get(timeout=5) == b"hello"


def test_settimeout_normalises_as_the_c_layer():
    with socket.socket() as ours, stdlib_socket.socket() as theirs:
        for value in (0, 0.0, 1, 0.1, 1e-10, 1e-9, 2.5, 1.0000000001, 3, 1e-10, 0.1, True):
            for s in (ours, theirs, ours):  # the second call with a value takes the fast path
                s.settimeout(value)
            assert ours.gettimeout() == theirs.gettimeout(), value
            assert type(ours.gettimeout()) is type(theirs.gettimeout())
        for bad in (-1, -0.5, float("nan"), 10**30, "soon", 1j):
            for s in (ours, theirs):
                with pytest.raises((ValueError, TypeError, OverflowError)) as info:
                    s.settimeout(bad)
                if s is ours:
                    ours_error = info.type
            assert ours_error is info.type, bad
        assert not os.get_blocking(ours.fileno())


def test_socketpair_is_cooperative():
    a, b = socket.socketpair()
    with a, b:
        assert type(a) is socket.socket and a.family == socket.AF_UNIX
        g = hub.spawn(a.recv, 5)
        hub.sleep(0)
        b.send(b"hi")
        assert g.get(timeout=5) == b"hi"


def test_create_server_options():
    s = socket.create_server(("127.0.0.1", 0), backlog=10, reuse_port=True)
    with s:
        assert type(s) is socket.socket
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    with pytest.raises(OSError) as info:
        taken = socket.create_server(("127.0.0.1", 0))
        with taken:
            socket.create_server(taken.getsockname())
    assert "while attempting to bind" in str(info.value)


# -- timeouts: every blocking call, on a virtual clock ------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.recv(1),
        lambda s: s.recv_into(bytearray(1)),
        lambda s: s.recvfrom(1),
        lambda s: s.recvfrom_into(bytearray(1)),
        lambda s: s.recvmsg(1),
        lambda s: s.recvmsg_into([bytearray(1)]),
        lambda s: s.makefile("rb").read(1),
    ],
    ids=["recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg", "recvmsg_into", "makefile"],
)
def test_read_timeouts(clock, operation):
    a, b = tcp_pair()
    with a, b:
        a.settimeout(2)
        start = clock()
        with pytest.raises(TimeoutError, match="timed out"):
            operation(a)
        assert clock() - start == pytest.approx(2)
        assert registered_waiters() == 0


def test_recv_timeout_is_one_deadline_across_wakeups(clock):
    # Two readers, one byte: the edge wakes both, one finds nothing and must wait out what is
    # left of its timeout, not a fresh one.
    a, b = tcp_pair()
    with a, b:
        a.settimeout(2)
        start = clock()
        got = []

        def read():
            try:
                got.append(a.recv(1))
            except TimeoutError:
                got.append(clock() - start)

        readers = [hub.spawn(read) for _ in range(2)]
        hub.sleep(0.5)
        b.sendall(b"x")
        hub.joinall(readers, timeout=10)
        assert got[0] == b"x" and got[1] == pytest.approx(2)
        assert registered_waiters() == 0


def fill_send_buffer(s):
    s.setblocking(False)
    chunk = b"x" * 65536
    try:
        while True:
            s.send(chunk)
    except BlockingIOError:
        pass


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.send(b"y" * 65536),
        lambda s: s.sendall(b"y" * 65536),
        lambda s: s.sendmsg([b"y" * 65536]),
    ],
    ids=["send", "sendall", "sendmsg"],
)
def test_write_timeouts(clock, operation):
    a, b = tcp_pair()
    with a, b:
        fill_send_buffer(a)
        a.settimeout(3)
        start = clock()
        with pytest.raises(TimeoutError):
            operation(a)
        assert clock() - start == pytest.approx(3)
        assert registered_waiters() == 0


def test_sendall_timeout_covers_the_whole_call(clock):
    a, b = tcp_pair()
    with a, b:
        a.settimeout(5)
        received = []

        def slow_reader():
            # Reads a little every 2 s: each wait of sendall succeeds, yet the total exceeds 5 s.
            while True:
                hub.sleep(2)
                data = b.recv(1 << 16)
                if not data:
                    return
                received.append(len(data))

        r = hub.spawn(slow_reader)
        start = clock()
        with pytest.raises(TimeoutError):
            a.sendall(b"z" * (64 << 20))
        assert clock() - start == pytest.approx(5, abs=0.01)
        assert received  # progress was made, the deadline still held
        r.kill()


def test_accept_timeout(clock):
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        listener.settimeout(1.5)
        with pytest.raises(TimeoutError):
            listener.accept()
        assert clock() == pytest.approx(1.5)


def test_connect_timeout(clock):
    # A listener whose backlog is full does not answer new SYNs: connect() has to time out.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(16):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(listener.getsockname())
            fillers.append(f)
        c = socket.socket()
        c.settimeout(4)
        with pytest.raises(TimeoutError):
            c.connect(listener.getsockname())
        c.close()
        c = socket.socket()
        c.settimeout(4)
        assert c.connect_ex(listener.getsockname()) == errno.EAGAIN
        c.close()
    finally:
        for f in fillers:
            f.close()
        listener.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="asks connect() again: Linux")
def test_loopback_connect_completes_without_waiting_on_the_hub():
    # The kernel has usually finished a loopback handshake by the time connect() returns
    # EINPROGRESS; asking again then reports success, and the socket does not wait on the hub.
    # Blocking and timeout modes, connect and connect_ex.
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    address = listener.getsockname()
    h = get_hub()
    waits = []
    h.wait_fd = lambda *args: waits.append(args) or type(h).wait_fd(h, *args)
    connects = connects_that_waited = 0
    try:
        for timeout in (None, 10):
            for use_connect_ex in (False, True):
                for _ in range(10):
                    s = socket.socket()
                    s.settimeout(timeout)
                    waits.clear()
                    if use_connect_ex:
                        assert s.connect_ex(address) == 0
                    else:
                        s.connect(address)
                    connects += 1
                    connects_that_waited += bool(waits)
                    # Registered at once, as drained: the first recv will wait without trying.
                    assert get_hub().fd_statistics(s.fileno()).readable is False
                    server, _ = listener.accept()
                    with s, server:
                        s.sendall(b"ping")
                        assert server.recv(4) == b"ping"
                        server.sendall(b"pong")
                        assert s.recv(4) == b"pong"
                        if timeout is None:
                            # Connected already: EISCONN, as the stdlib's blocking connect.
                            with pytest.raises(OSError) as info:
                                s.connect(address)
                            assert info.value.errno == errno.EISCONN
                            assert s.connect_ex(address) == errno.EISCONN
    finally:
        del h.wait_fd
        listener.close()
    # Before, every one waited. Now only one whose handshake the kernel put off (softirq work
    # deferred under heavy load) may: never all of them.
    assert connects_that_waited < connects


def test_data_waiting_before_the_fd_was_registered_is_read():
    # A new registration counts as drained: the data already there is announced by the edge
    # epoll reports for a new registration, and the reader waits for it instead of missing it.
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5)
        b.sendall(b"early")
        hub.sleep(0.01)
        a._fd_state()
        assert get_hub().fd_statistics(a.fileno()).readable is False
        assert a.recv(100) == b"early"
        b.close()
        assert a.recv(100) == b""


def test_create_connection_timeout_applies(clock):
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        c = socket.create_connection(listener.getsockname(), timeout=7)
        with c:
            assert c.gettimeout() == 7


# -- errors as the stdlib raises them -------------------------------------------------------


def test_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    with socket.socket() as c:
        assert c.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED


def test_unknown_host():
    with pytest.raises(socket.gaierror):
        socket.create_connection(("no-such-host.invalid", 80), timeout=5)
    with socket.socket() as c, pytest.raises(socket.gaierror):
        c.connect_ex(("no-such-host.invalid", 80))


def test_invalid_addresses_match_the_stdlib():
    for address in [("127.0.0.1",), "not a tuple", ("127.0.0.1", "port"), ("127.0.0.1", 70000)]:
        with stdlib_socket.socket() as ref, pytest.raises(Exception) as expected:
            ref.connect(address)
        with socket.socket() as s, pytest.raises(type(expected.value)):
            s.connect(address)


def test_operations_on_a_closed_socket():
    s = socket.socket()
    s.close()
    for op in (lambda: s.recv(1), lambda: s.send(b"x"), lambda: s.accept()):
        with pytest.raises(OSError) as info:
            op()
        assert info.value.errno == errno.EBADF


def test_close_wakes_other_waiters_with_ebadf(pair):
    a, _ = pair
    errors = []

    def waiter():
        try:
            a.recv(10)
        except OSError as e:
            errors.append(e.errno)

    gs = [hub.spawn(waiter) for _ in range(3)]
    hub.sleep(0)
    a.close()
    hub.joinall(gs, timeout=10)
    assert errors == [errno.EBADF] * 3
    assert registered_waiters() == 0


def test_peer_close_gives_eof(pair):
    a, b = pair
    g = hub.spawn(a.recv, 10)
    hub.sleep(0)
    b.close()
    assert g.get(timeout=10) == b""


def test_reset_connection():
    a, b = tcp_pair()
    with a:
        b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        g = hub.spawn(a.recv, 10)
        hub.sleep(0)
        b.close()
        with pytest.raises(ConnectionResetError):
            g.get(timeout=10)


# -- killed while blocked -----------------------------------------------------------------


@pytest.mark.parametrize("what", ["recv", "accept", "connect", "sendall"])
def test_killed_while_blocked_leaves_nothing_registered(what):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    a, b = tcp_pair()
    fillers = []
    try:
        if what == "recv":
            g = hub.spawn(a.recv, 10)
        elif what == "accept":
            g = hub.spawn(listener.accept)
        elif what == "sendall":
            fill_send_buffer(a)
            a.setblocking(True)
            g = hub.spawn(a.sendall, b"q" * (1 << 20))
        else:
            # Only new SYNs to a full backlog hang; fill it first.
            for _ in range(16):
                f = socket.socket()
                f.setblocking(False)
                f.connect_ex(listener.getsockname())
                fillers.append(f)
            c = socket.socket()
            fillers.append(c)
            g = hub.spawn(c.connect, listener.getsockname())
        hub.sleep(0)
        hub.sleep(0)
        assert not g.ready()
        assert registered_waiters() != 0
        g.kill()
        assert g.dead
        assert registered_waiters() == 0
    finally:
        for f in fillers:
            f.close()
        a.close()
        b.close()
        listener.close()


# -- scale and hygiene ---------------------------------------------------------------------


def count_fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_no_fd_leak_after_thousands_of_connections():
    listener = socket.create_server(("127.0.0.1", 0), backlog=512)

    def server():
        while True:
            conn, _ = listener.accept()
            conn.close()

    srv = hub.spawn(server)
    hub.sleep(0)
    before = count_fds()

    def client(n):
        for _ in range(n):
            c = socket.create_connection(listener.getsockname(), timeout=10)
            c.recv(1)  # the server closes: EOF
            c.close()

    hub.joinall([hub.spawn(client, 500) for _ in range(6)], raise_error=True)
    gc.collect()
    srv.kill()
    assert count_fds() <= before + 1
    listener.close()
    # The hub forgot the closed fds.
    assert len(get_hub().statistics().fds) < 20


def test_thousand_simultaneous_connections():
    listener = socket.create_server(("127.0.0.1", 0), backlog=2048)

    def handle(conn):
        with conn:
            while True:
                data = conn.recv(1024)
                if not data:
                    return
                conn.sendall(data)

    handlers = []

    def server():
        while True:
            conn, _ = listener.accept()
            handlers.append(hub.spawn(handle, conn))

    srv = hub.spawn(server)
    clients = [socket.create_connection(listener.getsockname(), timeout=30) for _ in range(1000)]

    def talk(i, c):
        msg = f"client {i}".encode()
        c.sendall(msg)
        got = b""
        while len(got) < len(msg):
            got += c.recv(100)
        return got == msg

    results = hub.joinall([hub.spawn(talk, i, c) for i, c in enumerate(clients)], raise_error=True)
    assert all(g.value for g in results) and len(results) == 1000
    for c in clients:
        c.close()
    srv.kill()
    listener.close()
    hub.joinall(handlers, raise_error=True)  # each one ends at its client's EOF
    assert len(handlers) == 1000


def test_sockets_of_two_threads_do_not_mix():
    import threading

    results = []

    def thread_main():
        a, b = socket.socketpair()
        with a, b:
            g = hub.spawn(a.recv, 10)
            hub.sleep(0)
            b.send(b"thread")
            results.append(g.get(timeout=10))
        get_hub().destroy()

    threads = [threading.Thread(target=thread_main) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"thread"] * 4


def test_selectors_fallback_poller_runs_sockets(monkeypatch):
    monkeypatch.setenv("GREENPATCH_POLLER", "selectors")
    from hub.testing import fresh_hub

    with fresh_hub():
        a, b = tcp_pair()
        with a, b:
            g = hub.spawn(lambda: [a.recv(100) for _ in range(3)])
            for word in (b"one", b"two", b"three"):
                hub.sleep(0.01)
                b.sendall(word)
            assert g.get(timeout=10) == [b"one", b"two", b"three"]
            a.settimeout(0.05)
            with pytest.raises(TimeoutError):
                a.recv(1)


# -- the readable flag: a drained socket waits first; it must never wait for data already there


def test_data_arriving_while_the_reader_was_busy_elsewhere(pair):
    a, b = pair
    a.settimeout(5)
    g = hub.spawn(lambda: (hub.sleep(0.01), b.sendall(b"first")))
    assert a.recv(100) == b"first"  # a waited (it is registered), then read short: drained
    g.join()
    assert get_hub().fd_statistics(a.fileno()).readable is False
    g = hub.spawn(lambda: (hub.sleep(0.05), b.sendall(b"second")))
    hub.sleep(0.2)  # the edge for "second" arrives while nobody waits on a
    g.join()
    a.settimeout(5)
    assert a.recv(100) == b"second"


def test_eof_after_a_short_read_does_not_hang(pair):
    a, b = pair
    a.settimeout(5)
    b.sendall(b"last words")
    assert a.recv(100) == b"last words"
    b.close()
    assert a.recv(100) == b""
    assert a.recv(100) == b""  # EOF again, at once


def test_peek_does_not_mark_drained(pair):
    a, b = pair
    a.settimeout(5)
    b.sendall(b"peek")
    hub.wait_read(a, timeout=5)
    assert a.recv(100, socket.MSG_PEEK) == b"peek"
    assert a.recv(100) == b"peek"


def test_shutdown_read_returns_at_once(pair):
    a, b = pair
    a.settimeout(5)
    b.sendall(b"x")
    assert a.recv(100) == b"x"
    a.shutdown(socket.SHUT_RD)
    assert a.recv(100) == b""


def test_recv_into_short_reads(pair):
    a, b = pair
    a.settimeout(5)
    buf = bytearray(100)
    for word in (b"one", b"two", b"three"):
        g = hub.spawn(lambda w=word: (hub.sleep(0.01), b.sendall(w)))
        n = a.recv_into(buf)
        assert buf[:n] == word
        g.join()
        assert (
            get_hub().fd_statistics(a.fileno()).readable is False
        )  # waited, then read short: drained
    view = memoryview(buf)[10:20]
    b.sendall(b"mv")
    assert a.recv_into(view) == 2
    # A memoryview, as SocketIO.readinto (makefile) passes: a short read after a wait marks the
    # socket drained, a full one does not.
    for data, drained in ((b"short", True), (b"0123456789", False)):
        g = hub.spawn(lambda d=data: (hub.sleep(0.01), b.sendall(d)))
        assert a.recv_into(view) == len(data)
        g.join()
        assert view[: len(data)] == data
        assert get_hub().fd_statistics(a.fileno()).readable is not drained


def test_two_socket_objects_on_one_fd(pair):
    a, b = pair
    twin = socket.socket(a.family, a.type, a.proto, fileno=os.dup(a.fileno()))
    with twin:
        a.settimeout(5)
        twin.settimeout(5)
        b.sendall(b"to a")
        assert a.recv(100) == b"to a"
        b.sendall(b"to twin")
        assert twin.recv(100) == b"to twin"
        b.sendall(b"to a again")
        assert a.recv(100) == b"to a again"


def test_readable_flag_with_the_fallback_poller(monkeypatch):
    monkeypatch.setenv("GREENPATCH_POLLER", "selectors")
    from hub.testing import fresh_hub

    with fresh_hub():
        a, b = tcp_pair()
        with a, b:
            a.settimeout(5)
            b.sendall(b"first")
            assert a.recv(100) == b"first"
            g = hub.spawn(lambda: (hub.sleep(0.02), b.sendall(b"second")))
            hub.sleep(0.1)  # no interest registered meanwhile: no event at all
            g.join()
            assert a.recv(100) == b"second"


@pytest.mark.parametrize("timeout", [5, None])
@pytest.mark.parametrize("how", ["fin", "rst"])
@pytest.mark.parametrize("call", ["recv", "recv_into", "readline"])
def test_end_of_stream_announced_with_the_last_bytes(pair, how, call, timeout):
    # The reader waits; the last bytes and the peer's FIN (or RST) then arrive before the hub
    # polls, so one edge announces both. A short read takes the bytes and must not make the
    # next read wait for an edge that will never come (conformance: test_urllib2_localnet).
    # Blocking mode (timeout None) takes recv's spelled-out wait, a timeout the general one.
    a, b = pair
    a.settimeout(timeout)
    buf = bytearray(100)
    reader = a.makefile("rb") if call == "readline" else None

    def read():
        if call == "recv":
            return a.recv(100)
        if call == "recv_into":
            return bytes(buf[: a.recv_into(buf)])
        return reader.readline()

    got = []

    def consume():
        got.append(read())
        try:
            got.append(read())
        except ConnectionResetError:
            got.append("reset")

    g = hub.spawn(consume)
    hub.sleep(0.05)  # consume waits in its first read
    b.sendall(b"last\n")
    if how == "rst":
        b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        b.close()
    else:
        b.shutdown(socket.SHUT_WR)
    g.get(timeout=10)
    if reader is not None:
        reader.close()
    assert got[0] == b"last\n"
    assert got[1] in ((b"",) if how == "fin" else (b"", "reset"))


def test_msg_dontwait_never_waits(pair):
    a, b = pair
    a.settimeout(None)
    with pytest.raises(BlockingIOError):
        a.recv(10, socket.MSG_DONTWAIT)
    with pytest.raises(BlockingIOError):  # the readable flag now says "drained": still one try
        a.recv(10, socket.MSG_DONTWAIT)
    with pytest.raises(BlockingIOError):
        a.recv_into(bytearray(10), 10, socket.MSG_DONTWAIT)
    b.sendall(b"x")
    hub.wait_read(a, timeout=5)
    assert a.recv(10, socket.MSG_DONTWAIT) == b"x"
    b.setblocking(True)
    with pytest.raises(BlockingIOError):
        while True:  # fill the send buffer; MSG_DONTWAIT reports the full buffer at once
            b.send(b"x" * 65536, socket.MSG_DONTWAIT)
    with pytest.raises(BlockingIOError):
        b.sendall(b"x" * 65536, socket.MSG_DONTWAIT)


def test_msg_dontwait_with_a_timeout_waits_like_the_stdlib(pair):
    # With a timeout the stdlib waits for readiness first, MSG_DONTWAIT or not.
    a, b = pair
    a.settimeout(0.05)
    with pytest.raises(TimeoutError):
        a.recv(10, socket.MSG_DONTWAIT)
    a.settimeout(5)
    g = hub.spawn(lambda: (hub.sleep(0.02), b.sendall(b"late")))
    assert a.recv(10, socket.MSG_DONTWAIT) == b"late"
    g.join()


def test_setblocking_on_a_closed_fd_raises():
    s = socket.socket()
    os.close(s.fileno())
    try:
        with pytest.raises(OSError):
            s.setblocking(False)
    finally:
        s.detach()


def test_getnameinfo_type_error_keeps_no_reference():
    import sys

    name = "not-a-tuple-" + str(os.getpid())
    before = sys.getrefcount(name)
    try:
        socket.getnameinfo(name, 0)
    except TypeError:
        assert sys.getrefcount(name) == before
    else:
        pytest.fail("no TypeError")


@pytest.mark.skipif(not hasattr(stdlib_socket.socket, "recvmsg_into"), reason="no recvmsg_into")
def test_recvmsg_into_a_generator_of_buffers_survives_a_wait(pair):
    # The first try fails with EAGAIN: the retry after the wait must still have the buffers.
    a, b = pair
    buf = bytearray(8)
    hub.spawn(lambda: (hub.sleep(0.01), a.sendall(b"payload")))
    nbytes, _, _, _ = b.recvmsg_into(x for x in [memoryview(buf)])
    assert (nbytes, bytes(buf[:nbytes])) == (7, b"payload")


@pytest.mark.skipif(not hasattr(stdlib_socket.socket, "sendmsg"), reason="no sendmsg")
def test_sendmsg_a_generator_of_buffers_survives_a_wait(pair):
    a, b = pair
    fill_send_buffer(a)
    a.setblocking(True)
    received = bytearray()

    def drain():
        b.setblocking(False)
        while True:
            try:
                data = b.recv(1 << 20)
            except BlockingIOError:
                if received.endswith(b"end"):
                    return
                hub.sleep(0.001)
                continue
            received.extend(data)

    reader = hub.spawn(drain)
    sent = a.sendmsg(x for x in [b"the ", b"end"])
    reader.get(timeout=10)
    assert sent == 7


# -- recv's spelled-out wait (blocking mode, no flags): the same outcomes as the general path


def test_blocking_recv_waits_and_reads_short_messages(pair):
    a, b = pair
    a.settimeout(None)
    got = []
    g = hub.spawn(lambda: [got.append(a.recv(100)) for _ in range(3)])
    for word in (b"one", b"two", b"three"):
        hub.sleep(0.01)
        b.sendall(word)
    g.join(timeout=10)
    assert got == [b"one", b"two", b"three"]
    assert registered_waiters() == 0


def test_blocking_recv_with_zero_flags_is_a_plain_read(pair):
    a, b = pair
    a.settimeout(None)
    g = hub.spawn(lambda: (hub.sleep(0.02), b.sendall(b"zero")))
    assert a.recv(100, 0) == b"zero"
    g.join()
    g = hub.spawn(lambda: (hub.sleep(0.02), b.sendall(b"again")))
    assert a.recv(100, 0) == b"again"
    g.join()


def test_recv_arguments_match_the_stdlib(pair):
    a, _ = pair
    with stdlib_socket.socket() as ref:
        for call in (lambda s: s.recv(), lambda s: s.recv(bufsize=1), lambda s: s.recv(1, 0, 0)):
            with pytest.raises(TypeError):
                call(ref)
            with pytest.raises(TypeError):
                call(a)
    a.settimeout(0.0)
    with pytest.raises(ValueError):
        a.recv(-1)
    with pytest.raises(TypeError):
        a.recv(1, None)


def test_blocking_recv_woken_by_close_gets_ebadf(pair):
    a, _ = pair
    a.settimeout(None)
    errors = []

    def waiter():
        try:
            a.recv(10)
        except OSError as e:
            errors.append(e.errno)

    gs = [hub.spawn(waiter) for _ in range(3)]  # three waiters: the fd's slot holds a deque
    hub.sleep(0)
    a.close()
    hub.joinall(gs, timeout=10)
    assert errors == [errno.EBADF] * 3
    assert registered_waiters() == 0


def test_blocking_recv_several_waiters_each_get_data(pair):
    a, b = pair
    a.settimeout(None)
    gs = [hub.spawn(a.recv, 1) for _ in range(3)]
    hub.sleep(0)
    for _ in range(3):
        b.sendall(b"x")
        hub.sleep(0.01)
    assert [g.get(timeout=10) for g in gs] == [b"x"] * 3
    assert registered_waiters() == 0


def test_blocking_recv_killed_unregisters(pair):
    a, b = pair
    a.settimeout(None)
    g = hub.spawn(a.recv, 10)
    hub.sleep(0)
    assert registered_waiters() != 0
    g.kill()
    assert g.dead and registered_waiters() == 0
    b.sendall(b"still there")
    a.settimeout(5)
    assert a.recv(100) == b"still there"


def test_blocking_recv_resumed_by_a_direct_switch_raises(pair):
    from hub._core import InvalidSwitchError

    a, _ = pair
    a.settimeout(None)
    errors = []

    def body():
        try:
            a.recv(10)
        except InvalidSwitchError as e:
            errors.append(e)

    g = hub.spawn(body)
    hub.sleep(0)  # g now waits in recv
    get_hub().run_callback(g.switch)  # resumed behind the hub's back, not by its fd
    g.join(timeout=10)
    assert len(errors) == 1
    assert registered_waiters() == 0


def test_blocking_recv_in_a_hub_callback_refuses_to_block(pair):
    from hub._core import BlockingSwitchOutError

    a, b = pair
    a.settimeout(None)
    b.sendall(b"x")
    hub.wait_read(a, timeout=5)
    assert a.recv(100) == b"x"  # drained: the next recv would wait
    errors = []

    def callback():
        try:
            a.recv(10)
        except BlockingSwitchOutError as e:
            errors.append(e)

    get_hub().run_callback(callback)
    hub.sleep(0.01)
    assert len(errors) == 1


def test_blocking_recv_with_the_fallback_poller(monkeypatch):
    monkeypatch.setenv("GREENPATCH_POLLER", "selectors")
    from hub.testing import fresh_hub

    with fresh_hub():
        a, b = tcp_pair()
        with a, b:
            a.settimeout(None)
            g = hub.spawn(lambda: [a.recv(100) for _ in range(3)])
            for word in (b"one", b"two", b"three"):
                hub.sleep(0.01)
                b.sendall(word)
            assert g.get(timeout=10) == [b"one", b"two", b"three"]


def test_blocking_recv_after_the_socket_moved_to_another_thread():
    import threading

    a, b = socket.socketpair()
    with a, b:
        g = hub.spawn(a.recv, 10)  # registers a's fd with this thread's hub
        hub.sleep(0)
        b.send(b"here")
        assert g.get(timeout=10) == b"here"
        results = []

        def thread_main():
            t = hub.spawn(a.recv, 10)
            hub.sleep(0)
            b.send(b"there")
            results.append(t.get(timeout=10))
            get_hub().destroy()

        thread = threading.Thread(target=thread_main)
        thread.start()
        thread.join(timeout=10)
        assert results == [b"there"]


def test_blocking_recv_registers_again_after_the_hub_forgot_the_fd(pair):
    # notify_closing (a twin socket object closing, or a fork that could not register the fd
    # again) ends the FdState the socket caches: its next wait must register the fd afresh.
    a, b = pair
    a.settimeout(None)
    g = hub.spawn(a.recv, 10)
    hub.sleep(0)
    old = a._st
    get_hub().notify_closing(a.fileno())
    with pytest.raises(OSError) as info:
        g.get(timeout=10)
    assert info.value.errno == errno.EBADF
    assert old.hub is None and old.fd == -1
    g = hub.spawn(a.recv, 10)
    hub.sleep(0)
    b.sendall(b"again")
    assert g.get(timeout=10) == b"again"
    assert a._st is not old and a._st.hub is get_hub()


@pytest.mark.parametrize(
    ("args", "expected"),
    [((0,), b""), ((-1,), ValueError), ((10, None), TypeError), ((10, 0.0), TypeError)],
    ids=["size 0", "negative size", "flags None", "flags float"],
)
def test_recv_answers_odd_arguments_at_once_on_a_drained_socket(clock, args, expected):
    # After connect() the fd is registered and counts as drained; a recv the stdlib answers
    # without reading must not wait for data first.
    a, b = tcp_pair()
    with a, b:
        a.setblocking(True)
        sender = hub.spawn_later(5, b.sendall, b"x")
        start = clock()
        if isinstance(expected, bytes):
            assert a.recv(*args) == expected
        else:
            with pytest.raises(expected):
                a.recv(*args)
        assert clock() - start < 1
        sender.kill()  # not needed: the recv did not wait for it


def test_a_socket_read_from_two_threads_loses_no_data():
    # The main hub took the edge for b"3" while nobody there waited (the socket had moved to
    # another thread's hub meanwhile): back in the main hub, recv must find the data.
    import threading

    a, b = socket.socketpair()
    with a, b:
        hub.spawn_later(0.01, b.sendall, b"1")
        assert a.recv(10) == b"1"  # registers a with the main hub
        got = []

        def in_thread():
            hub.spawn_later(0.01, b.sendall, b"2")
            got.append(a.recv(10))

        t = threading.Thread(target=in_thread)
        t.start()
        t.join(10)
        assert got == [b"2"]
        b.sendall(b"3")
        hub.sleep(0.05)  # the main hub consumes the edge; nobody waits for it
        reader = hub.spawn(a.recv, 10)
        assert reader.get(timeout=5) == b"3"


@pytest.mark.skipif(not hasattr(stdlib_socket, "AF_UNIX"), reason="no AF_UNIX")
def test_unix_connect_to_a_full_backlog(tmp_path):
    # EAGAIN from a Unix socket's connect means "no room", not "connecting": the stdlib raises
    # it with a timeout set and waits for room in blocking mode; it never reports a connection
    # that is not there.
    path = str(tmp_path / "s")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(0)
    queued = []
    with server:
        for _ in range(10):
            c = socket.socket(socket.AF_UNIX)
            c.setblocking(False)
            try:
                c.connect(path)
            except BlockingIOError:
                c.close()
                break
            queued.append(c)
        else:
            pytest.skip("the kernel never reported a full backlog")
        timed = socket.socket(socket.AF_UNIX)
        timed.settimeout(2)
        with timed:
            with pytest.raises(BlockingIOError):
                timed.connect(path)
            assert timed.connect_ex(path) == errno.EAGAIN
        blocking = socket.socket(socket.AF_UNIX)
        accepted = []
        hub.spawn_later(0.05, lambda: accepted.append(server.accept()[0]))
        with blocking:
            blocking.connect(path)  # waits until the accept makes room
            assert accepted
            blocking.sendall(b"x")
        for s in queued + accepted:
            s.close()
