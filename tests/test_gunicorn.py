"""hub.gunicorn.Worker under a real gunicorn arbiter (subprocesses): Flask, signals, TLS, preload.

Each test starts gunicorn (a few seconds each), so there are only a few, each checking several
things. The clients here are the plain blocking stdlib: nothing else runs in the test process.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from _servers import require

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")
pytestmark = pytest.mark.slow


class Gunicorn:
    """``python -m gunicorn -k hub.gunicorn.Worker ...`` on 127.0.0.1, a free port."""

    def __init__(self, tmp_path, app: str, *args: str, chdir: str = SAMPLES) -> None:
        require("gunicorn")
        self.log_path = tmp_path / "gunicorn.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [sys.executable, "-m", "gunicorn", "-k", "hub.gunicorn.Worker", "-b", "127.0.0.1:0"]
        cmd += ["--chdir", chdir, "--log-level", "info", *args, app]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=env)
        self.port = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            found = re.search(r"Listening at: https?://127\.0\.0\.1:(\d+)", text)
            if found and "Booting worker" in text:
                self.port = int(found.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        assert self.port, self.log_path.read_text()

    def workers(self) -> list[int]:
        return [int(p) for p in re.findall(r"Booting worker with pid: (\d+)", self.text())]

    def text(self) -> str:
        return self.log_path.read_text()

    def get(self, path: str, timeout: float = 20) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"gunicorn did not stop: {self.text()}") from None
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()


def wait_for(predicate, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_flask_two_workers_and_sigterm_finishes_requests_in_flight(tmp_path):
    require("flask")
    g = Gunicorn(tmp_path, "flask_app:app", "-w", "2", "--graceful-timeout", "20")
    try:
        assert wait_for(lambda: len(g.workers()) == 2)
        assert g.get("/") == (200, "Hello, World!")
        # Two slow requests at once on one worker: they overlap (cooperative sleep).
        results: list = []
        started = time.monotonic()
        threads = [
            threading.Thread(target=lambda: results.append(g.get("/slow?s=1.5"))) for _ in range(4)
        ]
        for t in threads:
            t.start()
        time.sleep(0.5)
        code_holder = []
        stopper = threading.Thread(target=lambda: code_holder.append(g.stop(signal.SIGTERM)))
        stopper.start()  # SIGTERM while the slow requests are in flight
        for t in threads:
            t.join(30)
        stopper.join(40)
        assert results == [(200, "slept 1.5")] * 4
        # Only that the graceful stop did not stall: serially the four requests take 6 s, so this
        # bound does not show that they overlapped (results above show that each finished).
        assert time.monotonic() - started < 15
        assert code_holder == [0], g.text()
    finally:
        g.stop()
    assert "Traceback" not in g.text()


PRELOAD_APP = """
import json, os, ssl
import requests  # imported by the arbiter (--preload), before the worker patches

CA = os.environ["TEST_CA"]

def app(environ, start_response):
    if environ["PATH_INFO"] == "/proxy":
        # A request to this very worker: it can only be answered if requests' sockets and ssl
        # became cooperative after all.
        url = "https://localhost:%s/hello" % environ["SERVER_PORT"]
        body = requests.get(url, verify=CA, timeout=10).text.encode()
    elif environ["PATH_INFO"] == "/pid":
        body = str(os.getpid()).encode()
    else:
        body = b"hello over " + environ["wsgi.url_scheme"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def test_preload_with_ssl_and_requests_imported_early(tmp_path):
    requests = require("requests")
    from tlsutil import make_certs

    certs = make_certs(str(tmp_path))
    (tmp_path / "preload_app.py").write_text(PRELOAD_APP)
    os.environ["TEST_CA"] = certs.ca
    try:
        g = Gunicorn(
            tmp_path,
            "preload_app:app",
            "-w",
            "1",
            "--preload",
            "--certfile",
            certs.server,
            "--keyfile",
            certs.server,
            chdir=str(tmp_path),
        )
    finally:
        del os.environ["TEST_CA"]
    try:
        url = f"https://localhost:{g.port}"
        r = requests.get(url + "/proxy", verify=certs.ca, timeout=30)
        assert (r.status_code, r.text) == (200, "hello over https")
    finally:
        assert g.stop() == 0
    assert "Traceback" not in g.text()


def test_max_requests_limits_heartbeat_keepalive_off_and_sigint(tmp_path):
    require("flask")
    g = Gunicorn(
        tmp_path,
        "flask_app:app",
        "-w",
        "1",
        "--max-requests",
        "3",
        "--timeout",
        "2",
        "--keep-alive",
        "0",
        "--limit-request-line",
        "200",
    )
    try:
        assert g.get("/" + "x" * 300)[0] == 414  # limit_request_line (not counted as a request)
        first = g.get("/pid")[1]
        time.sleep(2.5)  # longer than --timeout: the heartbeat keeps the worker alive
        assert g.get("/pid")[1] == first
        assert g.get("/pid")[1] == first  # the 3rd request: the worker restarts after it
        assert wait_for(lambda: len(g.workers()) == 2)
        second = g.get("/pid")[1]
        assert second != first
        # SIGINT to the worker: it exits at once, the slow request in flight is cut.
        done: list = []

        def slow():
            try:
                done.append(g.get("/slow?s=10"))
            except (OSError, http.client.HTTPException) as exc:
                done.append(exc)

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        started = time.monotonic()
        os.kill(int(second), signal.SIGINT)
        t.join(20)
        assert done and isinstance(done[0], Exception), done
        assert time.monotonic() - started < 5
        assert wait_for(lambda: len(g.workers()) == 3)  # the arbiter booted a new one
        third = g.get("/pid")[1]  # (and it serves: a SIGTERM while it boots would be lost)
        assert third not in (first, second)
    finally:
        assert g.stop() == 0
    assert "WORKER TIMEOUT" not in g.text()
    assert "MonkeyPatchWarning" not in g.text()
