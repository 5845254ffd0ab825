"""Server test helpers: a WSGIServer in the test process, real clients to talk to it."""

from __future__ import annotations

import contextlib
import http.client
import importlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

import hub
from hub import socket
from hub.wsgi import WSGIServer


def require(module: str) -> Any:
    """Import an optional package, or skip naming it (fail instead when CI=true)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the Python package {module!r} (see pyproject.toml extras)")
        pytest.skip(f"needs the Python package {module!r}")


def require_program(name: str) -> str:
    """The path of a program, or skip naming it (fail instead when CI=true)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the program {name!r} (tools/install_packages.sh)")
        pytest.skip(f"needs the program {name!r}")
    return path


@contextlib.contextmanager
def serving(app: Any, **kwargs: Any) -> Iterator[WSGIServer]:
    """A started WSGIServer on 127.0.0.1, port 0, without an access log unless asked."""
    kwargs.setdefault("log", None)
    server = WSGIServer(("127.0.0.1", 0), app, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop(timeout=2)


def in_thread(fn: Any, *args: Any) -> Any:
    """Run a blocking client in a real thread while the hub goes on serving."""
    return hub.get_hub().threadpool.apply(fn, args)


def raw(server: WSGIServer, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` on a new connection, then read until the server closes it."""
    with socket.create_connection(server.address, timeout=timeout) as c:
        c.sendall(data)
        out = b""
        while True:
            try:
                chunk = c.recv(65536)
            except ConnectionResetError:
                return out
            if not chunk:
                return out
            out += chunk


def responses(
    sock: Any, count: int, method: str = "GET"
) -> list[tuple[int, dict[str, str], bytes]]:
    """Read ``count`` responses from a (cooperative) socket with http.client's parser."""
    out = []
    f = sock.makefile("rb")
    try:
        for _ in range(count):
            r = http.client.HTTPResponse(_FileSock(f), method=method)
            r.begin()
            out.append((r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()))
    finally:
        f.close()
    return out


class _FileSock:
    """What http.client.HTTPResponse needs from a socket: one shared file it must not close."""

    def __init__(self, f: Any) -> None:
        self._f = _Unclosable(f)

    def makefile(self, mode: str) -> Any:
        return self._f


class _Unclosable:
    def __init__(self, f: Any) -> None:
        self._f = f

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def close(self) -> None:
        pass  # the next response is read from the same buffer
