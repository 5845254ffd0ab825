"""A minimal HTTP/1.1 keep-alive responder on stdlib sockets, one greenlet per connection.

    python http_sync.py TOOLKIT

The same toolkit line as echo_sync.py. It answers every request on a connection with a fixed
13-byte page and keeps the connection open; requests are counted by their blank line, so a
pipelined burst gets all its answers in one send. No parsing beyond that: the benchmark measures
the toolkit's socket path under a real HTTP load generator, not an HTTP library.

Prints ``LISTENING <port>`` when it accepts connections; runs until killed.
"""

import sys

from _toolkit import use

spawn, _ = use(sys.argv[1])

import socket  # noqa: E402  (after patching, as a user's program would)

from _http import END, RESPONSE  # noqa: E402


def handle(conn: socket.socket) -> None:
    """Answer each request read from ``conn`` until the peer closes."""
    pending = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            pending += data
            count = pending.count(END)
            if count:
                pending = pending[pending.rfind(END) + len(END) :]
                conn.sendall(RESPONSE * count)
    except OSError:
        pass
    finally:
        conn.close()


def main() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    print(f"LISTENING {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        spawn(handle, conn)


if __name__ == "__main__":
    main()
