"""A gunicorn worker class on the hub: ``gunicorn -k hub.gunicorn.Worker app:app``.

gunicorn stays the process manager (the arbiter forks the workers, restarts the dead, handles
reloads and signals); each worker process serves its share of connections with
:class:`hub.wsgi.WSGIServer`, one greenlet per connection. gunicorn is an optional extra
(``pip install greenpatch[gunicorn]``): this module imports it, nothing else in greenpatch does.

What each worker does
---------------------
1. ``monkeypatch.patch_all()`` first thing in the forked worker, before the application is
   loaded (or, with ``--preload``, after the arbiter already imported it: patch_all rebinds the
   names such modules took from socket and ssl, so an app that imported ``requests`` or ``ssl``
   early still gets cooperative sockets; with gevent that case breaks, gunicorn issue 2796).
2. One WSGIServer per listening socket, sharing one :class:`hub.Pool` of
   ``worker_connections`` greenlets (accepting pauses while it is full).
3. A heartbeat greenlet calls ``notify()`` (twice per ``timeout``, at least once a second) so
   the arbiter knows the worker is alive, and stops the worker if its parent changed.
4. The main greenlet waits on gunicorn's signal wake-up pipe. SIGTERM and SIGQUIT stop it
   gracefully: stop accepting, close idle keep-alive connections, let requests in flight finish
   for up to ``graceful_timeout`` seconds, then kill what is left. SIGINT exits at once.
   ``max_requests`` (with its jitter) also ends the worker gracefully, so the arbiter starts a
   fresh one.

Settings honoured: ``workers``, ``worker_connections``, ``keepalive`` (idle seconds between
requests; 0 turns keep-alive off), ``timeout``, ``graceful_timeout``, ``max_requests`` and
``max_requests_jitter``, ``limit_request_line`` / ``limit_request_fields`` /
``limit_request_field_size`` (0: gunicorn's "unlimited" means our generous maximum),
``certfile`` / ``keyfile`` (and the rest of gunicorn's ssl settings, through its
``ssl_context``), ``--preload``, ``accesslog`` and ``errorlog`` (lines in the common log format,
not gunicorn's ``access_log_format``).
"""

from __future__ import annotations

import errno
import os
import signal
from typing import TYPE_CHECKING, Any

from gunicorn.workers import base as _base

from . import _io_waits
from ._greenlet import Greenlet, sleep
from .pool import Pool
from .wsgi import WSGIHandler, WSGIServer

if TYPE_CHECKING:
    from gunicorn.sock import BaseSocket

__all__ = ["Worker"]

# gunicorn's 0 ("no limit") for the request limits becomes these.
_UNLIMITED_LINE = 1 << 20
_UNLIMITED_FIELDS = 32768
_UNLIMITED_FIELD_SIZE = 1 << 20


class _Handler(WSGIHandler):
    """Counts requests for ``max_requests``."""

    def handle_request(self, req: Any, head: bytes, base: dict[str, Any]) -> bool:
        worker: Worker = self.server.worker  # type: ignore[attr-defined]
        keep = super().handle_request(req, head, base)
        worker.nr += 1
        if worker.nr >= worker.max_requests and worker.alive:
            worker.log.info("Autorestarting worker after current request.")
            worker.wake(alive=False)
            return False
        return keep and worker.alive


class _Server(WSGIServer):
    """A WSGIServer that offers the connection as ``environ["gunicorn.socket"]`` too."""

    handler_class = _Handler
    worker: Worker

    def get_environ(self, sock: Any, address: Any) -> dict[str, Any]:
        env = super().get_environ(sock, address)
        env["gunicorn.socket"] = sock  # what websocket libraries (simple-websocket) look for
        return env


class Worker(_base.Worker):
    """gunicorn's worker class for greenpatch; see the module docstring."""

    # The arbiter hands each worker its listeners as gunicorn.sock.BaseSocket wrappers (the
    # socket itself is their ``.sock``); typeshed's gunicorn stubs declare them as sockets.
    sockets: list[BaseSocket]  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.worker_connections = self.cfg.worker_connections
        self._quick = False
        self.servers: list[_Server] = []

    # -- process start ----------------------------------------------------------------------------

    def init_process(self) -> None:
        """Patch the stdlib, then let gunicorn load the application and call :meth:`run`."""
        import monkeypatch

        from . import socket as _socket

        # The arbiter made the listeners with the blocking stdlib: take their fds over first, so
        # patch_all() finds no live blocking socket to warn about.
        for listener in self.sockets:
            s = listener.sock
            listener.sock = _socket.socket(s.family, s.type, s.proto, fileno=s.detach())
        monkeypatch.patch_all()
        super().init_process()

    def init_signals(self) -> None:
        """gunicorn's handlers, SIGQUIT made graceful and SIGINT quick (see the docstring)."""
        super().init_signals()
        signal.signal(signal.SIGINT, self.handle_int)

    def handle_exit(self, sig: int, frame: Any) -> None:
        # In the signal handler, which may interrupt the hub itself: only set flags. The write
        # to the wake-up pipe was done by the C-level handler (signal.set_wakeup_fd).
        self.alive = False

    def handle_quit(self, sig: int, frame: Any) -> None:
        self.alive = False

    def handle_int(self, sig: int, frame: Any) -> None:
        """SIGINT: exit without waiting for requests in flight."""
        self._quick = True
        self.alive = False

    def wake(self, alive: bool = True) -> None:
        """Wake the main greenlet (from a greenlet); ``alive=False`` starts the shutdown."""
        if not alive:
            self.alive = False
        try:
            os.write(self.PIPE[1], b".")
        except OSError:
            pass  # the pipe is full: it is readable already

    # -- serving --------------------------------------------------------------------------------

    def _make_servers(self) -> list[_Server]:
        cfg = self.cfg
        ssl_args: dict[str, Any] = {}
        if cfg.is_ssl:
            from gunicorn.sock import ssl_context

            ssl_args["ssl_context"] = ssl_context(cfg)
        pool = Pool(self.worker_connections)
        keepalive = float(cfg.keepalive)
        servers = []
        for listener in self.sockets:
            server = _Server(
                listener.sock,
                self.wsgi,
                backlog=cfg.backlog,
                spawn=pool,
                log=self.log.access_log if cfg.accesslog else None,
                error_log=self.log.error_log,
                keepalive=keepalive,
                network_timeout=float(cfg.timeout) if cfg.timeout > 0 else None,
                max_request_line=cfg.limit_request_line or _UNLIMITED_LINE,
                max_header_fields=cfg.limit_request_fields or _UNLIMITED_FIELDS,
                max_header_field_size=cfg.limit_request_field_size or _UNLIMITED_FIELD_SIZE,
                environ={"wsgi.multiprocess": cfg.workers > 1},
                **ssl_args,
            )
            server.worker = self
            servers.append(server)
        return servers

    def _heartbeat(self) -> None:
        interval = max(0.05, min(1.0, self.timeout / 2.0)) if self.timeout else 1.0
        while True:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                self.wake(alive=False)
            sleep(interval)

    def _drain_pipe(self) -> None:
        while True:
            try:
                if not os.read(self.PIPE[0], 4096):
                    return
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return
                raise

    def run(self) -> None:
        """Serve until a signal or ``max_requests`` ends the worker."""
        self.servers = self._make_servers()
        for server in self.servers:
            server.start()
        heartbeat = Greenlet.spawn(self._heartbeat)
        try:
            while self.alive:
                try:
                    _io_waits.wait_read(self.PIPE[0], 1.0)
                except TimeoutError:
                    pass
                self._drain_pipe()
            if self._quick:
                for server in self.servers:
                    server.close()
                return
            self._graceful_stop()
        finally:
            heartbeat.kill(block=False)

    def _graceful_stop(self) -> None:
        timeout = float(self.cfg.graceful_timeout)
        stoppers = [Greenlet.spawn(server.stop, timeout) for server in self.servers]
        for g in stoppers:
            g.join()
