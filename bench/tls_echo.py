"""TLS echo: greenpatch against gevent, 100 connections in one thread.

    python bench/tls_echo.py [--rounds N] [--connections N] [--messages N] [--size BYTES]

One process per (toolkit, round), toolkits alternating within each round, each process running
both the server (a greenlet per connection) and the clients (a greenlet each) on one hub. A
round measures the handshakes of all connections, then round trips: every client sends
``--size`` bytes and reads them back, ``--messages`` times. The table shows medians (and the
spread) of round trips per second and handshakes per second. Run it with the bench environment
(``make bench`` builds .venv-bench with gevent): ``.venv-bench/bin/python bench/tls_echo.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_certificate(directory: str) -> str:
    """A self-signed certificate and key for localhost, in one PEM file; returns its path."""
    path = os.path.join(directory, "localhost.pem")
    try:
        import trustme
    except ImportError:
        key, cert = path + ".key", path + ".crt"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"),
                *("ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost"),
                *("-keyout", key, "-out", cert),
                *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            ],
            check=True,
            capture_output=True,
        )
        with open(path, "w") as out:
            for part in (key, cert):
                with open(part) as f:
                    out.write(f.read())
        return path
    ca = trustme.CA()
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(path)
    ca.cert_pem.write_to_path(path + ".ca")
    return path


def child(toolkit: str, pem: str, connections: int, messages: int, size: int) -> None:
    """One measurement: prints a JSON object."""
    if toolkit == "greenpatch":
        sys.path.insert(0, ROOT)
        import hub
        from hub import socket, ssl

        spawn, joinall = hub.spawn, hub.joinall
    else:
        import gevent
        from gevent import socket, ssl

        spawn, joinall = gevent.spawn, gevent.joinall
    cafile = pem + ".ca" if os.path.exists(pem + ".ca") else pem
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pem)
    # The toolkit's own context class (gevent's create_default_context returns the stdlib's
    # blocking context unless ssl is monkey-patched).
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cafile)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    address = listener.getsockname()

    def handle(conn):
        try:
            tls = server_ctx.wrap_socket(conn, server_side=True)
            while True:
                data = tls.recv(65536)
                if not data:
                    break
                tls.sendall(data)
            tls.close()
        except OSError:
            conn.close()

    def serve():
        while True:
            conn, _ = listener.accept()
            spawn(handle, conn)

    server = spawn(serve)
    payload = b"x" * size

    def connect():
        raw = socket.create_connection(address)
        return client_ctx.wrap_socket(raw, server_hostname="localhost")

    def talk(tls):
        for _ in range(messages):
            tls.sendall(payload)
            got = 0
            while got < size:
                got += len(tls.recv(65536))

    start = time.perf_counter()
    clients = [g.value for g in joinall([spawn(connect) for _ in range(connections)])]
    handshakes = time.perf_counter() - start
    start = time.perf_counter()
    joinall([spawn(talk, c) for c in clients], raise_error=True)
    elapsed = time.perf_counter() - start
    for c in clients:
        c.close()
    server.kill()
    print(
        json.dumps(
            {
                "round_trips_per_s": connections * messages / elapsed,
                "handshakes_per_s": connections / handshakes,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--toolkits", default="greenpatch,gevent")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--pem", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.pem, args.connections, args.messages, args.size)
        return
    toolkits = args.toolkits.split(",")
    results: dict[str, list[dict[str, float]]] = {t: [] for t in toolkits}
    with tempfile.TemporaryDirectory() as tmp:
        pem = make_certificate(tmp)
        for round_no in range(args.rounds):
            order = toolkits if round_no % 2 == 0 else toolkits[::-1]
            for toolkit in order:
                out = subprocess.run(
                    [
                        *(sys.executable, __file__, "--child", toolkit, "--pem", pem),
                        *("--connections", str(args.connections)),
                        *("--messages", str(args.messages), "--size", str(args.size)),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                results[toolkit].append(json.loads(out))
    print(
        f"TLS echo, {args.connections} connections x {args.messages} round trips of "
        f"{args.size} B, {args.rounds} rounds, Python {sys.version.split()[0]}"
    )
    base = {
        key: statistics.median(r[key] for r in results.get("gevent", []) or [{key: 0}])
        for key in ("round_trips_per_s", "handshakes_per_s")
    }
    for key, label in (
        ("round_trips_per_s", "round trips/s"),
        ("handshakes_per_s", "handshakes/s"),
    ):
        print(f"\n{label}")
        for toolkit in toolkits:
            values = [r[key] for r in results[toolkit]]
            median = statistics.median(values)
            ratio = f"  x{median / base[key]:.2f} vs gevent" if base[key] else ""
            print(
                f"  {toolkit:<11} {median:>10,.0f}  ({min(values):,.0f} .. {max(values):,.0f})"
                f"{ratio}"
            )


if __name__ == "__main__":
    main()
