"""One WSGI server of the wsgi benchmark, serving bench/servers/wsgi_apps.py's APP.

    python wsgi_server.py SERVER APP

SERVER is greenpatch (hub.wsgi.WSGIServer), gevent (gevent.pywsgi.WSGIServer), bjoern, or
gunicorn-gevent / gunicorn-greenpatch / gunicorn-sync (gunicorn with one worker of that class;
this process binds the port, prints it, then becomes the gunicorn arbiter, which serves the
listening socket it inherits through ``--bind fd://N``). APP is hello or flask.

Prints ``LISTENING <port>`` when it accepts connections; runs until killed. No access log.
"""

import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GUNICORN_WORKERS = {
    "gunicorn-gevent": "gevent",
    "gunicorn-greenpatch": "hub.gunicorn.Worker",
    "gunicorn-sync": "sync",
}


def listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    return sock


def main() -> None:
    server, app_name = sys.argv[1], sys.argv[2]
    if server in GUNICORN_WORKERS:
        sock = listener()
        sock.set_inheritable(True)
        argv = [sys.executable, "-m", "gunicorn", "-k", GUNICORN_WORKERS[server], "-w", "1"]
        argv += ["-b", f"fd://{sock.fileno()}", "--chdir", HERE, "--log-level", "warning"]
        argv += ["--graceful-timeout", "1", f"wsgi_apps:{app_name}"]
        os.execv(sys.executable, argv)
    if server == "greenpatch":
        import monkeypatch

        monkeypatch.patch_all()
        import wsgi_apps

        from hub.wsgi import WSGIServer

        WSGIServer(listener(), getattr(wsgi_apps, app_name), log=None).serve_forever()
    elif server == "gevent":
        from gevent import monkey

        monkey.patch_all()
        import wsgi_apps
        from gevent.pywsgi import WSGIServer

        WSGIServer(listener(), getattr(wsgi_apps, app_name), log=None).serve_forever()
    elif server == "bjoern":
        import bjoern
        import wsgi_apps

        bjoern.server_run(listener(), getattr(wsgi_apps, app_name))
    else:
        sys.exit(f"unknown server {server!r}")


if __name__ == "__main__":
    main()
