"""TLS test helpers: a local CA (trustme) and what the blocking stdlib does in each failure case.

The stdlib's outcomes (exception types, verify codes, messages with their ``_ssl.c`` line
numbers) are measured, not written down: a fresh, unpatched interpreter runs each scenario with
plain blocking sockets and threads, and the cooperative tests compare against that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import trustme


def make_certs(directory: str) -> SimpleNamespace:
    """A CA and a certificate for localhost/127.0.0.1 signed by it, as PEM files."""
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    paths = SimpleNamespace(
        ca=os.path.join(directory, "ca.pem"), server=os.path.join(directory, "server.pem")
    )
    ca.cert_pem.write_to_path(paths.ca)
    cert.private_key_and_cert_chain_pem.write_to_path(paths.server)
    return paths


def describe(exc: BaseException | None) -> dict[str, object] | None:
    """What the tests compare about an exception."""
    if exc is None:
        return None
    return {
        "type": type(exc).__name__,
        "verify_code": getattr(exc, "verify_code", None),
        "verify_message": getattr(exc, "verify_message", None),
        "str": str(exc),
    }


# Runs in a clean interpreter: argv = ca.pem server.pem. Prints a JSON object of outcomes.
_REFERENCE = r"""
import json, socket, ssl, sys, threading
sys.path.insert(0, sys.argv[3])
from tlsutil import describe
ca, server_pem = sys.argv[1:3]
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(server_pem)

def serve(listener, mode):
    conn, _ = listener.accept()
    with conn:
        if mode == "tls":
            try:
                server_ctx.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                pass
        elif mode == "close_after_hello":
            conn.recv(65536)
        elif mode == "silent":
            while conn.recv(65536):
                pass

def attempt(mode, ctx, hostname, timeout=30.0):
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=serve, args=(listener, mode))
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=timeout) as conn:
            ctx.wrap_socket(conn, server_hostname=hostname).close()
        return None
    except Exception as exc:
        return describe(exc)
    finally:
        thread.join()
        listener.close()

print(json.dumps({
    "mismatch": attempt("tls", ssl.create_default_context(cafile=ca), "example.org"),
    "ip_mismatch": attempt("tls", ssl.create_default_context(cafile=ca), "127.0.0.2"),
    "untrusted": attempt("tls", ssl.create_default_context(), "localhost"),
    "closed": attempt("close_after_hello", ssl.create_default_context(cafile=ca), "localhost"),
    "timeout": attempt("silent", ssl.create_default_context(cafile=ca), "localhost", 0.2),
}))
"""


def stdlib_reference(certs: SimpleNamespace) -> dict[str, dict[str, object] | None]:
    """The blocking stdlib's outcome of each failure scenario (see _REFERENCE)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _REFERENCE,
            certs.ca,
            certs.server,
            os.path.dirname(os.path.abspath(__file__)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
