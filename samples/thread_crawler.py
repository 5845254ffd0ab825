"""Plain thread-pool code, made green without a change: ThreadPoolExecutor + urllib.

    python samples/thread_crawler.py [--count N] [--workers N] [--delay S]

``crawl()`` below is ordinary threaded code: a ``concurrent.futures.ThreadPoolExecutor`` whose
workers fetch URLs with ``urllib``. The demo starts a slow local HTTP server (every answer takes
--delay seconds, so no network is needed) and runs the crawl twice, each in a fresh interpreter:

- unpatched: ``python samples/thread_crawler.py --crawl ...``: one OS thread per worker;
- patched: ``python -m monkeypatch samples/thread_crawler.py --crawl ...``: the same code, its
  workers are greenlets of one OS thread.

It prints both times and how many OS threads each used. The times are alike (both crawls are
concurrent); the patched one does it with one OS thread instead of one per worker.
"""

import argparse
import concurrent.futures
import http.server
import os
import subprocess
import sys
import threading
import time
import urllib.request

# -- the crawler: nothing here knows about greenlets -------------------------------------------

_peak_threads = [0]


def os_threads():
    """OS threads of this process now (Linux: /proc; elsewhere threading's count)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    _peak_threads[0] = max(_peak_threads[0], os_threads())
    return response.status, len(body)


def crawl(urls, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fetch, urls))


def run_crawl(port, count, workers):
    urls = [f"http://127.0.0.1:{port}/page/{i}" for i in range(count)]
    started = time.monotonic()
    results = crawl(urls, workers)
    elapsed = time.monotonic() - started
    ok = sum(status == 200 for status, _ in results)
    print(f"{ok} {elapsed:.3f} {_peak_threads[0]}")


# -- the demo: a slow server, and the crawl run twice ------------------------------------------


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    delay = 0.5

    def do_GET(self):
        time.sleep(self.delay)
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


def _crawl_in_child(port, args, patched):
    here = os.path.abspath(__file__)
    launcher = [sys.executable, "-m", "monkeypatch"] if patched else [sys.executable]
    command = [*launcher, here, "--crawl", "--port", str(port)]
    command += ["--count", str(args.count), "--workers", str(args.workers)]
    root = os.path.dirname(os.path.dirname(here))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    ok, elapsed, threads = out.split()
    return int(ok), float(elapsed), int(threads)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50, help="URLs to fetch (default 50)")
    parser.add_argument("--workers", type=int, default=50, help="pool size (default 50)")
    parser.add_argument("--delay", type=float, default=0.5, help="server delay (default 0.5 s)")
    parser.add_argument("--crawl", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.crawl:
        run_crawl(args.port, args.count, args.workers)
        return 0
    _SlowHandler.delay = args.delay
    server = _Server(("127.0.0.1", 0), _SlowHandler)
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    port = server.server_address[1]
    print(f"{args.count} URLs, {args.workers} workers, each answer takes {args.delay} s")
    try:
        for label, patched in (("unpatched (OS threads)", False), ("patched (greenlets)", True)):
            ok, elapsed, threads = _crawl_in_child(port, args, patched)
            print(f"{label:<24} {ok}/{args.count} OK in {elapsed:.2f} s, {threads} OS threads")
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
