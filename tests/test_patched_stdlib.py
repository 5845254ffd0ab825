"""Unmodified stdlib and third-party code under patch_all(): urllib, requests, http.client,
socketserver, all concurrent in one thread. Each test runs in a fresh, patched interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A slow HTTP server for the client programs below: the stdlib's HTTPServer with a greenlet per
# request. Every GET answers after DELAY seconds.
SERVER = """
import monkeypatch
monkeypatch.patch_all()
import http.server, time, hub

DELAY = {delay}

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
        finally:
            self.shutdown_request(request)

server = Server(("127.0.0.1", 0), Handler)
PORT = server.server_address[1]
hub.spawn(server.serve_forever, 0.5)
"""


def run_patched(body: str, delay: float = 0.5, timeout: float = 120) -> str:
    code = SERVER.format(delay=delay) + textwrap.dedent(body)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": ROOT},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_urllib_concurrent():
    out = run_patched(
        """
        import urllib.request
        def get(i):
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/{i}", timeout=30) as r:
                return r.read()
        start = time.monotonic()
        gs = [hub.spawn(get, i) for i in range(50)]
        bodies = [g.get() for g in gs]
        assert bodies == [f"/{i}".encode() for i in range(50)]
        print(time.monotonic() - start)
        """
    )
    # 50 requests of 0.5 s each: 25 s in sequence. Concurrently about 0.5 s; bound generously.
    assert float(out) < 8


def test_requests_session_concurrent():
    out = run_patched(
        """
        import requests
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=50)
        session.mount("http://", adapter)
        def get(i):
            r = session.get(f"http://127.0.0.1:{PORT}/{i}", timeout=30)
            r.raise_for_status()
            return r.text
        start = time.monotonic()
        gs = [hub.spawn(get, i) for i in range(50)]
        texts = [g.get() for g in gs]
        assert texts == [f"/{i}" for i in range(50)]
        print(time.monotonic() - start)
        """
    )
    assert float(out) < 8


def test_http_client_keepalive_and_timeout():
    out = run_patched(
        """
        import http.client, socket
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        for i in range(3):
            conn.request("GET", f"/{i}")
            assert conn.getresponse().read() == f"/{i}".encode()
        conn.close()
        slow = http.client.HTTPConnection("127.0.0.1", PORT, timeout=0.1)
        slow.request("GET", "/slow")
        try:
            slow.getresponse()
        except TimeoutError:
            print("timed out")
        """,
        delay=0.5,
    )
    assert "timed out" in out


def test_socketserver_with_patched_clients():
    out = run_patched(
        """
        import socket, socketserver

        class Echo(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline()
                time.sleep(0.5)
                self.wfile.write(line.upper())

        class GreenletTCPServer(socketserver.TCPServer):
            request_queue_size = 256
            allow_reuse_address = True
            def process_request(self, request, address):
                def work():
                    try:
                        self.finish_request(request, address)
                    finally:
                        self.shutdown_request(request)
                hub.spawn(work)

        echo = GreenletTCPServer(("127.0.0.1", 0), Echo)
        hub.spawn(echo.serve_forever, 0.1)
        def client(i):
            with socket.create_connection(echo.server_address, timeout=30) as c:
                c.sendall(f"hello {i}\\n".encode())
                return c.makefile("rb").readline()
        start = time.monotonic()
        replies = [g.get() for g in [hub.spawn(client, i) for i in range(30)]]
        assert replies == [f"HELLO {i}\\n".encode() for i in range(30)]
        print(time.monotonic() - start)
        """
    )
    assert float(out) < 6  # 30 x 0.5 s = 15 s in sequence


def test_patch_all_then_unknown_host_and_refused_are_reported():
    out = run_patched(
        """
        import urllib.request, urllib.error
        for url in ("http://no-such-host.invalid/", "http://127.0.0.1:1/"):
            try:
                urllib.request.urlopen(url, timeout=5)
            except urllib.error.URLError as e:
                print(type(e.reason).__name__)
        """
    )
    assert out.split() == ["gaierror", "ConnectionRefusedError"]
