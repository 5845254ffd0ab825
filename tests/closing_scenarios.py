"""Scenarios "A waits on an fd, B closes or shuts it down": run as a script, print JSON outcomes.

``python closing_scenarios.py MODE TIMEOUT CA_PEM SERVER_PEM``, where MODE is

- ``stdlib``: the unpatched stdlib, A and B are OS threads (the reference);
- ``threads``: after ``monkeypatch.patch_all()``, A and B are OS threads (each with its hub);
- ``greenlets``: after ``patch_all()``, A is a greenlet and B the main greenlet of one thread.

Every scenario runs at the same time as the others (each on its own sockets), so a run takes
about one timeout however many there are. For each one the script prints what A's call returned
or raised, normalised so that runs can be compared (objects by name, no fd numbers, exception
type and errno), and how long it took. tests/test_closing.py compares the modes.
"""

from __future__ import annotations

import json
import sys
import time

MODE, TIMEOUT = sys.argv[1], float(sys.argv[2])
CA_PEM, SERVER_PEM = sys.argv[3], sys.argv[4]
if MODE != "stdlib":
    import monkeypatch

    monkeypatch.patch_all()

import select  # noqa: E402
import selectors  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import threading  # noqa: E402

#: How long B waits before it acts, so that A is blocked by then.
DELAY = 0.15

server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(SERVER_PEM)
client_ctx = ssl.create_default_context(cafile=CA_PEM)


def tcp_pair(small: bool = False) -> list[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        if small:  # fixed small buffers: the kernel does not grow them while A waits to send
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        a = socket.create_connection(srv.getsockname())
        b, _ = srv.accept()
    if small:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    a.settimeout(TIMEOUT)
    return [a, b]


def unix_pair() -> list[socket.socket]:
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    return [a, b]


def listener() -> list[socket.socket]:
    lst = socket.create_server(("127.0.0.1", 0))
    lst.settimeout(TIMEOUT)
    return [lst]


def full(objs: list[socket.socket]) -> list[socket.socket]:
    """``objs[0]`` with its send buffer full."""
    a = objs[0]
    a.setblocking(False)
    for _ in range(3):  # again after a pause: what was in flight may have made room
        try:
            while True:
                a.send(b"x" * 4096)
        except (BlockingIOError, ssl.SSLWantWriteError):
            pass
        time.sleep(0.02)
    a.settimeout(TIMEOUT)
    return objs


def tls_pair(handshake: bool = True, small: bool = False) -> list[socket.socket]:
    raw, peer = tcp_pair(small)
    raw.settimeout(None)
    if not handshake:
        a = client_ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
        a.settimeout(TIMEOUT)
        return [a, peer]
    box = {}

    def serve() -> None:
        box["b"] = server_ctx.wrap_socket(peer, server_side=True)

    t = threading.Thread(target=serve)
    t.start()
    a = client_ctx.wrap_socket(raw, server_hostname="localhost")
    t.join()
    a.settimeout(TIMEOUT)
    return [a, box["b"]]


def connecting() -> list:
    """A socket whose connect() will hang: the listener's backlog is full, its SYN dropped."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    filler = []
    for _ in range(8):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(lst.getsockname())
        filler.append(c)
    time.sleep(0.05)
    a = socket.socket()
    a.settimeout(TIMEOUT)
    return [a, lst, filler]


def connect(o: list) -> object:
    return o[0].connect(o[1].getsockname())


def close(o: list) -> None:
    o[0].close()


def shut(how: int):  # type: ignore[no-untyped-def]
    return lambda o: o[0].shutdown(how)


def then_peer_closes(act):  # type: ignore[no-untyped-def]
    def both(o: list) -> None:
        act(o)
        time.sleep(0.05)
        o[1].close()

    return both


def selector_wait(cls: str, events: int):  # type: ignore[no-untyped-def]
    def wait(o: list) -> object:
        sel = getattr(selectors, cls)()
        sel.register(o[0], events)
        return [("A", ev) for _, ev in sel.select(TIMEOUT)]

    return wait


def poll_wait(o: list) -> object:
    p = select.poll()
    p.register(o[0], select.POLLIN)
    return [("A", ev) for _, ev in p.poll(TIMEOUT * 1000)]


def epoll_wait(o: list) -> object:
    with select.epoll() as ep:
        ep.register(o[0], select.EPOLLIN)
        return [("A", ev) for _, ev in ep.poll(TIMEOUT)]


def sel(o: list, r: int = 0, w: int = 0, x: int = 0) -> object:
    """select() on ``o[0]`` in each list the given number of times; objects named."""
    result = select.select([o[0]] * r, [o[0]] * w, [o[0]] * x, TIMEOUT)
    return [["A" if obj is o[0] else "?" for obj in group] for group in result]


def full_tcp() -> list[socket.socket]:
    return full(tcp_pair(True))


def full_tls() -> list[socket.socket]:
    return full(tls_pair(small=True))


def recv10(o: list) -> object:
    return o[0].recv(10)


def sendall(o: list) -> object:
    return o[0].sendall(b"y" * 65536)


R, W, RW = socket.SHUT_RD, socket.SHUT_WR, socket.SHUT_RDWR
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE

# name: (setup, A's call, B's action). A scenario the stdlib ends only at its timeout (or never)
# has a name starting with "slow:". (send() is left out: with a little room in the buffer the
# stdlib's call, which polls first, waits, where ours, which tries first, sends a few bytes.)
SCENARIOS = {
    "select r, close": (
        listener,
        lambda o: sel(o, r=1),
        close,
    ),
    "select r, close, then accept": (
        listener,
        lambda o: (sel(o, r=1), o[0].accept()),
        close,
    ),
    "select w, close": (
        full_tcp,
        lambda o: sel(o, w=1),
        close,
    ),
    "select x, close": (
        unix_pair,
        lambda o: sel(o, x=1),
        close,
    ),
    "select r twice + w, close": (
        lambda: full(unix_pair()),
        lambda o: sel(o, r=2, w=1),
        close,
    ),
    "poll, close": (listener, poll_wait, close),
    "SelectSelector, close": (listener, selector_wait("SelectSelector", READ), close),
    "PollSelector, close": (listener, selector_wait("PollSelector", READ), close),
    "PollSelector w, close": (
        lambda: full(unix_pair()),
        selector_wait("PollSelector", WRITE),
        close,
    ),
    "slow: EpollSelector, close": (listener, selector_wait("EpollSelector", READ), close),
    "slow: epoll, close": (listener, epoll_wait, close),
    "accept, close": (listener, lambda o: o[0].accept(), close),
    "connect, close": (connecting, connect, close),
    "connect, shutdown RDWR": (connecting, connect, shut(RW)),
    "slow: makefile readline, close (the file keeps the fd open)": (
        tcp_pair,
        lambda o: o[0].makefile("rb").readline(),
        close,
    ),
    "accept, shutdown RDWR": (listener, lambda o: o[0].accept(), shut(RW)),
    "recv, close": (tcp_pair, lambda o: o[0].recv(10), close),
    "recv, close, peer closes": (tcp_pair, lambda o: o[0].recv(10), then_peer_closes(close)),
    "recv, shutdown RD": (tcp_pair, lambda o: o[0].recv(10), shut(R)),
    "recv, shutdown RDWR": (tcp_pair, lambda o: o[0].recv(10), shut(RW)),
    "slow: recv, shutdown WR": (tcp_pair, lambda o: o[0].recv(10), shut(W)),
    "recv_into, close": (tcp_pair, lambda o: o[0].recv_into(bytearray(10)), close),
    "recv_into, shutdown RD": (tcp_pair, lambda o: o[0].recv_into(bytearray(10)), shut(R)),
    "recvfrom, shutdown RD": (tcp_pair, lambda o: o[0].recvfrom(10), shut(R)),
    "makefile readline, shutdown RD": (tcp_pair, lambda o: o[0].makefile("rb").readline(), shut(R)),
    "unix recv, close": (unix_pair, lambda o: o[0].recv(10), close),
    "unix recv, shutdown RD": (unix_pair, lambda o: o[0].recv(10), shut(R)),
    "sendall full, close": (
        full_tcp,
        sendall,
        close,
    ),
    "sendall full, shutdown RDWR": (
        full_tcp,
        sendall,
        shut(RW),
    ),
    "tls recv, shutdown RD": (tls_pair, lambda o: o[0].recv(10), shut(R)),
    "tls recv, shutdown RD, peer closes": (
        tls_pair,
        lambda o: o[0].recv(10),
        then_peer_closes(shut(R)),
    ),
    "tls recv_into, shutdown RD": (tls_pair, lambda o: o[0].recv_into(bytearray(10)), shut(R)),
    "tls read, shutdown RDWR": (tls_pair, lambda o: o[0].read(10), shut(RW)),
    "tls recv, close": (tls_pair, lambda o: o[0].recv(10), close),
    "tls recv, close, peer closes": (tls_pair, lambda o: o[0].recv(10), then_peer_closes(close)),
    "tls sendall full, shutdown WR": (
        full_tls,
        sendall,
        shut(W),
    ),
    "tls sendall full, close": (
        full_tls,
        sendall,
        close,
    ),
    "tls unwrap, close": (tls_pair, lambda o: o[0].unwrap(), close),
    "tls unwrap, shutdown RD": (tls_pair, lambda o: o[0].unwrap(), shut(R)),
    "tls do_handshake, close": (lambda: tls_pair(False), lambda o: o[0].do_handshake(), close),
    "tls do_handshake, shutdown RD": (
        lambda: tls_pair(False),
        lambda o: o[0].do_handshake(),
        shut(R),
    ),
}


def normalise(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, socket.socket):
        return "<socket>"
    return value


def main() -> None:
    results: dict[str, dict[str, object]] = {}
    setups = {name: setup() for name, (setup, _, _) in SCENARIOS.items()}

    def waiter(name: str) -> None:
        _, call, _ = SCENARIOS[name]
        t0 = time.monotonic()
        try:
            out: object = ["value", normalise(call(setups[name]))]
        except Exception as exc:
            out = ["raise", type(exc).__name__, getattr(exc, "errno", None)]
        results[name] = {"outcome": out, "elapsed": time.monotonic() - t0}

    if MODE == "greenlets":
        import hub

        tasks = [hub.spawn(waiter, name) for name in SCENARIOS]
        hub.sleep(DELAY)
        for name, (_, _, act) in SCENARIOS.items():
            hub.spawn(act, setups[name])
        hub.joinall(tasks, timeout=TIMEOUT * 3)
    else:
        threads = [threading.Thread(target=waiter, args=(name,), daemon=True) for name in SCENARIOS]
        for t in threads:
            t.start()
        time.sleep(DELAY)
        actors = [
            threading.Thread(target=act, args=(setups[name],), daemon=True)
            for name, (_, _, act) in SCENARIOS.items()
        ]
        for t in actors:
            t.start()
        for t in threads + actors:
            t.join(TIMEOUT * 3)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
