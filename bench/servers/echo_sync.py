"""The seed's echo server on stdlib sockets: an accept loop and one greenlet per connection.

    python echo_sync.py TOOLKIT [CERTFILE KEYFILE]

TOOLKIT is greenpatch, gevent, eventlet (a greenlet per connection, after the toolkit's patch_all)
or threads (plain stdlib, a thread per connection); apart from that first line the program is the
same for all of them. With a certificate and key it is the TLS echo server: each connection's
handler does the handshake itself, so a slow handshake holds up only its own connection.

Prints ``LISTENING <port>`` (an ephemeral port on 127.0.0.1) when it accepts connections; runs
until killed.
"""

import sys

from _toolkit import use

spawn, _ = use(sys.argv[1], needs=("socket", "ssl") if len(sys.argv) == 4 else ("socket",))

import socket  # noqa: E402  (after patching, as a user's program would)
import ssl  # noqa: E402


def handle(conn: socket.socket, tls: ssl.SSLContext | None) -> None:
    """Echo everything until the peer closes."""
    try:
        if tls is not None:
            conn = tls.wrap_socket(conn, server_side=True)
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass  # a reset from the load generator ends the connection, nothing more
    finally:
        conn.close()


def main() -> None:
    tls = None
    if len(sys.argv) == 4:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[2], sys.argv[3])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    print(f"LISTENING {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        spawn(handle, conn, tls)


if __name__ == "__main__":
    main()
