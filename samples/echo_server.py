"""A single-threaded echo server for many clients at once: one greenlet per connection.

    python samples/echo_server.py [--host 127.0.0.1] [--port 8001]

Plain socket code; patch_all() makes accept(), recv() and sendall() cooperative, so while one
connection waits for data the others are served. --port 0 picks a free port; the server prints
the address it listens on. Try it with samples/echo_client.py.
"""

import monkeypatch

monkeypatch.patch_all()

import argparse  # noqa: E402
import socket  # noqa: E402

import hub  # noqa: E402


def handle(conn):
    """Echo everything until the client closes its side."""
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)


def serve(server):
    while True:
        conn, _address = server.accept()
        hub.spawn(handle, conn)


def raise_fd_limit():
    """Let the server hold as many connections as the system allows this process."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    raise_fd_limit()
    server = socket.create_server((args.host, args.port), backlog=4096)
    host, port = server.getsockname()[:2]
    print(f"echo server listening on {host}:{port}", flush=True)
    try:
        serve(server)
    except KeyboardInterrupt:
        print("bye")
    finally:
        server.close()


if __name__ == "__main__":
    main()
