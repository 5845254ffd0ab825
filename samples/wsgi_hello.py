"""A WSGI application served by hub.wsgi: many keep-alive clients, one thread.

    python samples/wsgi_hello.py [--host 127.0.0.1] [--port 8000] [--requests N]

It prints the address it listens on ("serving on http://HOST:PORT/"). --port 0 picks a free
port. With --requests N it fetches its own page N times over one keep-alive connection (with the
patched, now cooperative http.client), prints each answer and exits; otherwise it serves until
Ctrl-C. Try it with `curl http://127.0.0.1:8000/` or `wrk -c100 http://127.0.0.1:8000/`.
"""

import monkeypatch

monkeypatch.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402

import hub  # noqa: E402
from hub.wsgi import WSGIServer  # noqa: E402


def application(environ, start_response):
    """Greets whoever asks, by the path they asked for."""
    body = f"Hello from {environ['PATH_INFO']}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def fetch(address, count):
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        for i in range(count):
            conn.request("GET", f"/request/{i}")
            response = conn.getresponse()
            print(response.status, response.read().decode().strip(), flush=True)
    finally:
        conn.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--requests", type=int, default=0)
    args = parser.parse_args(argv)
    server = WSGIServer((args.host, args.port), application, log=None)
    server.start()
    print(f"serving on http://{server.server_host}:{server.server_port}/", flush=True)
    try:
        if args.requests:
            hub.spawn(fetch, server.address, args.requests).get()
        else:
            server.serve_forever()
    except KeyboardInterrupt:
        print("bye")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
