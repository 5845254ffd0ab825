"""hub.dbwait's psycopg wait function on real sockets, without a database server.

A psycopg wait function consumes a generator that yields what it waits for (1 = read, 2 =
write) and receives what became ready. These generators do real socket IO on a socketpair.
"""

from __future__ import annotations

import socket

import pytest
from _dbservers import need_module

import hub
from hub.dbwait import wait_psycopg


def _reader(sock: socket.socket, want: int):
    """Read ``want`` bytes one at a time, yielding READ whenever the next one is not there.

    Reading less than the buffer holds is what libpq does; an edge-triggered wait alone would
    never be woken for the bytes left behind.
    """
    got = b""
    while len(got) < want:
        try:
            got += sock.recv(1)
        except BlockingIOError:
            yield 1  # psycopg's generators send 0 (nothing ready, a timeout) back as well
            continue
        if len(got) < want:
            yield 1  # more may be there already: ask again, as libpq does
    return got


def test_bytes_left_in_the_buffer_are_not_missed() -> None:
    need_module("psycopg", "psycopg[binary]")
    a, b = socket.socketpair()
    a.setblocking(False)
    with a, b:
        b.sendall(b"hello")  # all five bytes arrive before the first wait

        def later() -> None:
            hub.sleep(0.05)
            b.sendall(b" world")

        writer = hub.spawn(later)
        assert wait_psycopg(_reader(a, 11), a.fileno(), timeout=10) == b"hello world"
        writer.join()


def test_other_greenlets_run_while_it_waits() -> None:
    need_module("psycopg", "psycopg[binary]")
    a, b = socket.socketpair()
    a.setblocking(False)
    ticks = []
    with a, b:
        ticker = hub.spawn(lambda: [ticks.append(hub.sleep(0.01)) for _ in range(10)])
        hub.spawn_later(0.2, b.sendall, b"x")
        assert wait_psycopg(_reader(a, 1), a.fileno()) == b"x"
        ticker.join()
    assert len(ticks) == 10


def test_timeout_raises_psycopgs_wait_timeout() -> None:
    psycopg = need_module("psycopg", "psycopg[binary]")
    a, b = socket.socketpair()
    a.setblocking(False)
    with a, b, pytest.raises(psycopg.errors.OperationalError, match="wait timeout"):
        wait_psycopg(_reader(a, 1), a.fileno(), timeout=0.1)


def test_a_closed_fd_raises_operational_error() -> None:
    psycopg = need_module("psycopg", "psycopg[binary]")
    a, b = socket.socketpair()
    fd = a.detach()
    b.close()
    socket.close(fd)  # the fd number is now invalid: poll() says POLLNVAL

    def gen():
        yield 1

    with pytest.raises(psycopg.OperationalError, match="connection socket closed"):
        wait_psycopg(gen(), fd)


def test_write_then_read() -> None:
    need_module("psycopg", "psycopg[binary]")
    a, b = socket.socketpair()
    a.setblocking(False)

    def exchange():
        ready = yield 2  # wait until writable, then send
        assert ready & 2
        a.send(b"ping")
        return (yield from _reader(a, 4))

    with a, b:
        hub.spawn_later(0.05, lambda: b.sendall(b.recv(4).upper()))
        assert wait_psycopg(exchange(), a.fileno(), timeout=10) == b"PING"
