"""ssl under patch_all(): requests, urllib and the whole hub.ssl suite, with patch_all() called
first thing ("early") and after ssl, requests, urllib3 and urllib.request were imported ("late",
where gevent dies with RecursionError). Each test runs in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
from tlsutil import make_certs, stdlib_reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))

PRELUDES = {
    "early": "import monkeypatch\nmonkeypatch.patch_all()\n",
    "late": (
        "import ssl, requests, urllib3, urllib.request\n"
        "import monkeypatch\n"
        "monkeypatch.patch_all()\n"
    ),
}

# A local HTTPS server, cooperative: the stdlib's HTTPServer over TLS with a greenlet per
# request (the handshake happens in that greenlet, on the first read). Every GET answers after
# DELAY seconds.
SERVER = """
import http.server, ssl, time, hub

DELAY = {delay}
CA, SERVER_PEM = {ca!r}, {server!r}

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(DELAY)
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

class Server(http.server.HTTPServer):
    request_queue_size = 1024
    def process_request(self, request, address):
        hub.spawn(self._handle, request, address)
    def _handle(self, request, address):
        try:
            self.finish_request(request, address)
        except (OSError, ssl.SSLError):
            pass  # a client that gave up, or failed verification
        finally:
            self.shutdown_request(request)

server = Server(({host!r}, 0), Handler)
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(SERVER_PEM)
server.socket = server_ctx.wrap_socket(
    server.socket, server_side=True, do_handshake_on_connect=False
)
PORT = server.server_address[1]
hub.spawn(server.serve_forever, 0.5)
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def reference(certs):
    return stdlib_reference(certs)


def run_program(code: str, timeout: float = 240, warnings: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": ROOT},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if not warnings:
        assert "Warning" not in result.stderr, result.stderr
    return result.stdout


def server_code(certs, delay: float, host: str = "127.0.0.1") -> str:
    return SERVER.format(delay=delay, ca=certs.ca, server=certs.server, host=host)


def run_https(when: str, certs, body: str, delay: float = 0.5, host: str = "127.0.0.1") -> str:
    code = PRELUDES[when] + server_code(certs, delay, host) + textwrap.dedent(body)
    return run_program(code)


@pytest.mark.parametrize("when", ["early", "late"])
def test_requests_https_concurrent_with_verification(when, certs):
    out = run_https(
        when,
        certs,
        """
        import requests, hub.ssl
        session = requests.Session()
        session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=50))
        def get(i):
            # verify per request: REQUESTS_CA_BUNDLE would override session.verify
            r = session.get(f"https://localhost:{PORT}/{i}", verify=CA, timeout=30)
            r.raise_for_status()
            return r.text
        start = time.monotonic()
        texts = [g.get() for g in [hub.spawn(get, i) for i in range(50)]]
        assert texts == [f"/{i}" for i in range(50)]
        print(time.monotonic() - start)
        """,
    )
    # 50 requests of 0.5 s: 25 s in sequence, about 0.5 s together. Bound generously.
    assert float(out) < 8


@pytest.mark.parametrize("when", ["early", "late"])
def test_urllib_https_concurrent_with_verification(when, certs):
    out = run_https(
        when,
        certs,
        """
        import urllib.request
        ctx = ssl.create_default_context(cafile=CA)
        def get(i):
            url = f"https://127.0.0.1:{PORT}/{i}"
            with urllib.request.urlopen(url, timeout=30, context=ctx) as r:
                return r.read()
        start = time.monotonic()
        bodies = [g.get() for g in [hub.spawn(get, i) for i in range(50)]]
        assert bodies == [f"/{i}".encode() for i in range(50)]
        print(time.monotonic() - start)
        """,
    )
    assert float(out) < 8


@pytest.mark.parametrize("when", ["early", "late"])
def test_verification_failures_are_the_stdlibs(when, certs, reference):
    out = run_https(
        when,
        certs,
        f"""
        import json, sys, urllib.error, urllib.request, requests
        sys.path.insert(0, {HERE!r})
        from tlsutil import describe
        def ssl_error(exc):  # requests -> urllib3 MaxRetryError -> urllib3 SSLError -> ssl's
            while not isinstance(exc, ssl.SSLError) or type(exc).__module__ != "ssl":
                exc = exc.__context__ or exc.args[0]
            return exc
        # The server's certificate names localhost and 127.0.0.1; it listens on 127.0.0.2.
        url = f"https://127.0.0.2:{{PORT}}/"
        results = {{}}
        for name, verify in (("requests mismatch", CA), ("requests untrusted", True)):
            try:
                requests.get(url, verify=verify, timeout=30)
            except requests.exceptions.SSLError as e:
                results[name] = describe(ssl_error(e))
        for name, ctx in (
            ("urllib mismatch", ssl.create_default_context(cafile=CA)),
            ("urllib untrusted", ssl.create_default_context()),
        ):
            try:
                urllib.request.urlopen(url, timeout=30, context=ctx)
            except urllib.error.URLError as e:
                results[name] = describe(e.reason)
        print(json.dumps(results))
        """,
        delay=0,
        host="127.0.0.2",
    )
    import json

    results = json.loads(out)
    assert reference["ip_mismatch"]["verify_code"] == 64  # X509_V_ERR_IP_ADDRESS_MISMATCH
    assert (
        reference["untrusted"]["verify_code"] == 20
    )  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    for name in ("requests mismatch", "urllib mismatch"):
        assert results[name] == reference["ip_mismatch"], name
    for name in ("requests untrusted", "urllib untrusted"):
        assert results[name] == reference["untrusted"], name


def test_gevents_failure_mode_requests_imported_first(certs):
    """gevent: import requests, patch, first HTTPS request -> RecursionError. Not here."""
    code = (
        "import requests\n"
        "import monkeypatch\n"
        "monkeypatch.patch_all()\n"
        + server_code(certs, 0)
        + textwrap.dedent(
            """
            import hub.ssl
            r = requests.get(f"https://localhost:{PORT}/first", verify=CA, timeout=30)
            assert r.status_code == 200 and r.text == "/first"
            # The context requests/urllib3 built, with its setters used after patching.
            ctx = ssl.create_default_context(cafile=CA)
            ctx.options |= ssl.OP_NO_TICKET
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            print("ok")
            """
        )
    )
    assert run_program(code).strip() == "ok"


def test_contexts_made_before_patching_give_cooperative_sockets(certs):
    code = (
        textwrap.dedent(
            f"""
        import socket, ssl
        early = ssl.create_default_context(cafile={certs.ca!r})
        class MyContext(ssl.SSLContext):
            pass
        mine = MyContext(ssl.PROTOCOL_TLS_CLIENT)
        mine.load_verify_locations({certs.ca!r})
        old = [socket.socket() for _ in range(10)]  # blocking sockets, made before patching
        import monkeypatch
        monkeypatch.patch_all()
        """
        )
        + server_code(certs, 0.5)
        + textwrap.dedent(
            """
        import hub.ssl
        def fetch(ctx, i):
            with socket.create_connection(("127.0.0.1", PORT), timeout=30) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    assert type(s) is hub.ssl.SSLSocket
                    s.sendall(f"GET /{i} HTTP/1.0\\r\\n\\r\\n".encode())
                    return s.makefile("rb").read().endswith(f"/{i}".encode())
        start = time.monotonic()
        gs = [hub.spawn(fetch, ctx, i) for i in range(20) for ctx in (early, mine)]
        def fetch_with_old_socket(raw, i):
            raw.settimeout(30)
            raw.connect(("127.0.0.1", PORT))  # blocking, but the kernel completes it at once
            with early.wrap_socket(raw, server_hostname="localhost") as s:
                assert type(s) is hub.ssl.SSLSocket  # the wrapper is cooperative
                s.sendall(f"GET /{i} HTTP/1.0\\r\\n\\r\\n".encode())
                return s.makefile("rb").read().endswith(f"/{i}".encode())
        gs += [hub.spawn(fetch_with_old_socket, raw, i) for i, raw in enumerate(old)]
        assert all(g.get() for g in gs)
        assert ssl.SSLContext.sslsocket_class is hub.ssl.SSLSocket
        assert type(early) is ssl.SSLContext  # the very same stdlib class
        print(time.monotonic() - start)
        """
        )
    )
    # 50 fetches of 0.5 s each: 25 s in sequence. (The old sockets are named in warnings.)
    assert float(run_program(code, warnings=True).splitlines()[-1]) < 8


@pytest.mark.slow
@pytest.mark.parametrize("when", ["early", "late"])
def test_the_hub_ssl_suite_passes_patched(when):
    """tests/test_ssl.py again, in an interpreter patched early or late: there it drives the
    stdlib's own ssl and socket modules."""
    code = PRELUDES[when] + textwrap.dedent(
        f"""
        import sys, pytest
        sys.exit(pytest.main([
            "-q", "-p", "no:cacheprovider", "--rootdir", {ROOT!r},
            # hub was imported before pytest started: its asserts cannot be rewritten.
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            {os.path.join(HERE, "test_ssl.py")!r},
        ]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", result.stdout)
    assert "failed" not in result.stdout and "error" not in result.stdout.lower()
