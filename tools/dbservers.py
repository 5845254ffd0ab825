"""Start real database servers for tests and benchmarks: PostgreSQL, Redis, MariaDB (Debian's).

    with run_postgres() as server: ... server.url, server.port ...

Each runner starts its server in a new temporary directory, listening on a free port of
127.0.0.1 only (PostgreSQL and MariaDB also on a unix socket inside that directory), waits
until it answers, and on exit stops it and removes the directory: nothing is left running.
As root, PostgreSQL and MariaDB run as their Debian system users (``postgres``, ``mysql``),
which refuse root. A missing package raises :class:`ServerMissing` naming the Debian package.
tests/_dbservers.py turns these into pytest fixtures; bench/harness/dbbench.py uses them directly.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Server", "ServerMissing", "run_mariadb", "run_postgres", "run_redis"]


class ServerMissing(Exception):
    """The server's Debian package (or its system user) is not installed; the message says which."""


@dataclass
class Server:
    """A running server: where it listens and how to reach it."""

    name: str
    host: str
    port: int
    directory: str
    process: subprocess.Popen[bytes]
    socket_dir: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """A URL for the server (``postgresql://``, ``redis://``, ``mysql://``)."""
        return self.extra["url"]


_STARTUP_TIMEOUT = 60.0  # seconds: generous, the machine may be loaded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _user(name: str) -> str | None:
    """The system user to run a server as: ``name`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise ServerMissing(
            f"system user {name!r} does not exist (it comes with the Debian package)"
        )
    return name


def _tempdir(prefix: str, user: str | None) -> str:
    path = tempfile.mkdtemp(prefix=f"greenpatch-{prefix}-")
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def _log(directory: str) -> Any:
    return open(os.path.join(directory, "server.log"), "ab")


def _tail(directory: str) -> str:
    try:
        with open(os.path.join(directory, "server.log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")
    except OSError:
        return ""


def _wait_until(ready: Any, proc: subprocess.Popen[bytes], directory: str, name: str) -> None:
    """Poll ``ready()`` until it is true; fail with the server's log if it dies or never is."""
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{_tail(directory)}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer within {_STARTUP_TIMEOUT} s:\n{_tail(directory)}")


def _stop(proc: subprocess.Popen[bytes], directory: str) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    shutil.rmtree(directory, ignore_errors=True)


def _tcp_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _postgres_bin() -> str | None:
    """The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@contextlib.contextmanager
def run_postgres() -> Iterator[Server]:
    """PostgreSQL: user ``postgres`` without password (trust), database ``postgres``."""
    bindir = _postgres_bin()
    if bindir is None:
        raise ServerMissing("PostgreSQL is not installed (Debian package postgresql)")
    user = _user("postgres")
    directory = _tempdir("postgres", user)
    data, sock = os.path.join(directory, "data"), os.path.join(directory, "sock")
    try:
        for d in (sock,):
            os.mkdir(d)
            if user is not None:
                shutil.chown(d, user)
        subprocess.run(
            [f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--no-sync", "--locale=C"],
            check=True, user=user, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
        )  # fmt: skip
        port = _free_port()
        with _log(directory) as log:
            proc = subprocess.Popen(
                [f"{bindir}/postgres", "-D", data, "-p", str(port), "-k", sock,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=300", "-c", "shared_buffers=16MB"],
                user=user, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )  # fmt: skip
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    try:

        def ready() -> bool:
            return (
                subprocess.run(
                    [f"{bindir}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)],
                    check=False,
                ).returncode
                == 0
            )

        _wait_until(ready, proc, directory, "postgres")
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        yield Server("postgres", "127.0.0.1", port, directory, proc, sock, {"url": url})
    finally:
        _stop(proc, directory)


@contextlib.contextmanager
def run_redis() -> Iterator[Server]:
    """redis-server without persistence."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        raise ServerMissing("Redis is not installed (Debian package redis-server)")
    directory = _tempdir("redis", None)
    port = _free_port()
    with _log(directory) as log:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", directory, "--daemonize", "no",
             "--maxclients", "2000"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:

        def ready() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        _wait_until(ready, proc, directory, "redis-server")
        yield Server(
            "redis", "127.0.0.1", port, directory, proc, "", {"url": f"redis://127.0.0.1:{port}/0"}
        )
    finally:
        _stop(proc, directory)


@contextlib.contextmanager
def run_mariadb() -> Iterator[Server]:
    """MariaDB: user ``root`` without password."""
    daemon = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    install = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
    if not (os.path.exists(daemon) and os.path.exists(install)):
        raise ServerMissing("MariaDB is not installed (Debian package mariadb-server)")
    user = _user("mysql")
    directory = _tempdir("mariadb", user)
    data, sock = os.path.join(directory, "data"), os.path.join(directory, "mysqld.sock")
    as_user = ["--user=" + user] if user else []
    try:
        subprocess.run(
            [install, "--no-defaults", f"--datadir={data}", *as_user,
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
        )  # fmt: skip
        port = _free_port()
        with _log(directory) as log:
            proc = subprocess.Popen(
                [daemon, "--no-defaults", f"--datadir={data}", f"--socket={sock}",
                 f"--port={port}", "--bind-address=127.0.0.1", *as_user,
                 f"--pid-file={directory}/mysqld.pid", "--skip-log-bin",
                 "--innodb-buffer-pool-size=16M", "--max-connections=300"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )  # fmt: skip
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    try:
        _wait_until(
            lambda: os.path.exists(sock) and _tcp_answers(port), proc, directory, "mariadbd"
        )
        url = f"mysql://root@127.0.0.1:{port}/mysql"
        yield Server("mariadb", "127.0.0.1", port, directory, proc, sock, {"url": url})
    finally:
        _stop(proc, directory)
