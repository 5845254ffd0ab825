"""Every sample runs as documented: `python samples/NAME.py` prints what its docstring says."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_sample(name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "samples", name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def numbers(text: str) -> list[str]:
    return re.findall(r"^\d+$", text, re.MULTILINE)


def test_greenlet_switch_prints_one_to_six():
    result = run_sample("greenlet_switch.py")
    assert result.returncode == 0, result.stderr
    assert numbers(result.stdout) == ["1", "2", "3", "4", "5", "6"]


def test_spawn_sleep_prints_in_wakeup_order():
    result = run_sample("spawn_sleep.py")
    assert result.returncode == 0, result.stderr
    assert numbers(result.stdout) == ["1", "2", "3", "6", "5", "4"]
    seconds = float(re.search(r"done in ([\d.]+) s", result.stdout).group(1))
    assert 1.9 <= seconds < 10  # about 2 s: the sleeps overlap (generous upper bound)


def test_sync_vs_async():
    result = run_sample("sync_vs_async.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    sync_part, async_part = out.split("Asynchronous:")
    assert re.findall(r"task (\d+) done", sync_part) == [str(i) for i in range(1, 10)]
    assert sorted(int(n) for n in re.findall(r"task (\d+) done", async_part)) == list(range(1, 11))
    sync_total = float(re.search(r"synchronous total: ([\d.]+) s", out).group(1))
    async_total = float(re.search(r"asynchronous total: ([\d.]+) s", out).group(1))
    assert sync_total >= 4.5
    assert 0.5 <= async_total < sync_total / 2


def test_fetch_urls_demo():
    result = run_sample("fetch_urls.py", "--count", "12", "--delay", "0.3", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("] 200 ") == 24
    sequential = float(out.split("sequential total: ")[1].split()[0])
    concurrent = float(out.split("concurrent total: ")[1].split()[0])
    assert sequential >= 12 * 0.3
    assert concurrent < sequential / 3


def test_fetch_urls_reports_each_failure():
    urls = ["http://127.0.0.1:1/refused", "http://no-such-host.invalid/"]
    result = run_sample("fetch_urls.py", "--timeout", "5", *urls, timeout=120)
    assert result.returncode == 1
    assert result.stdout.count("FAILED") == 2
    assert "refused" in result.stdout.lower()


def test_echo_sample_server_and_client():
    env = {**os.environ, "PYTHONPATH": ROOT}
    server = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "samples", "echo_server.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        port = line.rsplit(":", 1)[1].strip()
        client = subprocess.run(
            [sys.executable, os.path.join(ROOT, "samples", "echo_client.py"), "--port", port],
            input="hello\nsecond line\n\n",
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert client.returncode == 0, client.stderr
        assert "echo: hello" in client.stdout and "echo: second line" in client.stdout
    finally:
        server.kill()
        server.wait()
        server.stdout.close()


def test_echo_sample_serves_a_thousand_simultaneous_connections():
    import hub
    from hub import socket

    env = {**os.environ, "PYTHONPATH": ROOT}
    server = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "samples", "echo_server.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    clients = []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        clients = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(1000)]

        def talk(i, conn):
            message = f"hello from client {i}".encode()
            conn.sendall(message)
            received = b""
            while len(received) < len(message):
                chunk = conn.recv(100)
                assert chunk
                received += chunk
            return received == message

        done = hub.joinall([hub.spawn(talk, i, c) for i, c in enumerate(clients)], raise_error=True)
        assert len(done) == 1000 and all(g.value for g in done)
    finally:
        for c in clients:
            c.close()
        server.kill()
        server.wait()
        server.stdout.close()


def test_db_fanout_against_the_test_server(postgres_server):
    from _dbservers import need_module

    need_module("psycopg", "psycopg[binary]")
    result = run_sample("db_fanout.py", postgres_server.url, "--greenlets", "20", "--delay", "0.2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "60 queries from 20 greenlets on 20 connections" in out
    assert "one after another: 12.00 s" in out
    concurrent = float(re.search(r"concurrently: ([\d.]+) s", out).group(1))
    assert concurrent < 6, out  # about 0.6 s: the greenlets' queries overlap


def test_db_fanout_reports_a_connection_error():
    from _dbservers import need_module

    need_module("psycopg", "psycopg[binary]")
    result = run_sample("db_fanout.py", "postgresql://nobody@127.0.0.1:1/none", "--greenlets", "2")
    assert result.returncode == 1
    assert result.stdout.count("error: OperationalError") == 2


def test_wsgi_hello_serves_its_own_requests():
    result = run_sample("wsgi_hello.py", "--port", "0", "--requests", "3")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^serving on http://127\.0\.0\.1:\d+/$", result.stdout, re.MULTILINE)
    assert re.findall(r"^200 Hello from (/request/\d)$", result.stdout, re.MULTILINE) == [
        "/request/0",
        "/request/1",
        "/request/2",
    ]


def test_parallel_commands_overlap():
    result = run_sample("parallel_commands.py")
    assert result.returncode == 0, result.stderr
    finished = re.findall(r"command (\d+) finished", result.stdout)
    assert sorted(int(n) for n in finished) == list(range(10))
    assert int(re.search(r"ticks: (\d+)", result.stdout).group(1)) >= 5
    seconds = float(re.search(r"done in ([\d.]+) s", result.stdout).group(1))
    assert 0.5 <= seconds < 4  # about 0.5 s: the commands overlap (serially 5 s)


def test_thread_crawler_runs_patched_and_unpatched():
    result = run_sample("thread_crawler.py", "--count", "30", "--delay", "0.3", timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    unpatched = next(line for line in lines if line.startswith("unpatched"))
    patched = next(line for line in lines if line.startswith("patched"))
    for line in (unpatched, patched):
        assert "30/30 OK" in line
        assert float(line.split(" in ")[1].split()[0]) < 30 * 0.3 / 3  # concurrent, not serial
    assert int(patched.split(", ")[1].split()[0]) <= 2  # one OS thread (IPs: no DNS pool)
    assert int(unpatched.split(", ")[1].split()[0]) > 10
