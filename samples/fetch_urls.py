"""Fetch many URLs at once with plain urllib, made concurrent by one line: patch_all().

    python samples/fetch_urls.py [--count N] [--concurrency N] [--delay S] [--timeout S] [URL ...]

Given URLs, it fetches them all concurrently, printing each result as it arrives. Given none, it
starts a small local HTTP server that answers every request after --delay seconds (so the demo
needs no network), and fetches --count URLs from it twice: one after another, then concurrently,
and prints both total times.

A URL that fails (connection refused, timeout, unknown host, HTTP error) gets its own line and
the others go on; the exit code is 1 if any failed, 0 otherwise.
"""

import monkeypatch

monkeypatch.patch_all()  # before anything else imports socket: from here on urllib cooperates

import argparse  # noqa: E402
import http.server  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections import deque  # noqa: E402

import hub  # noqa: E402


def fetch(url, timeout):
    """Plain urllib: (status, size) or raises. Nothing here knows about greenlets."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, len(response.read())


def describe_error(exc):
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return "timed out"
        return str(getattr(reason, "strerror", None) or reason)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


class Progress:
    """Prints one line per finished URL: [done/total] status, size, time, URL."""

    def __init__(self, total):
        self.total = total
        self.done = 0
        self.failed = 0

    def report(self, url, started, result=None, error=None):
        self.done += 1
        elapsed = time.monotonic() - started
        prefix = f"[{self.done:>{len(str(self.total))}}/{self.total}]"
        if error is None:
            status, size = result
            print(f"{prefix} {status} {size:>7} bytes {elapsed:6.2f} s  {url}", flush=True)
        else:
            self.failed += 1
            print(f"{prefix} FAILED {describe_error(error)} ({elapsed:.2f} s)  {url}", flush=True)


def fetch_one(url, timeout, progress):
    started = time.monotonic()
    try:
        result = fetch(url, timeout)
    except Exception as exc:  # a sample that reports every failure and goes on
        progress.report(url, started, error=exc)
    else:
        progress.report(url, started, result=result)


def fetch_in_sequence(urls, timeout):
    progress = Progress(len(urls))
    for url in urls:
        fetch_one(url, timeout, progress)
    return progress


def fetch_concurrently(urls, timeout, concurrency):
    """``concurrency`` greenlets take URLs from a shared list until it is empty."""
    progress = Progress(len(urls))
    todo = deque(urls)

    def worker():
        while todo:
            fetch_one(todo.popleft(), timeout, progress)

    hub.joinall([hub.spawn(worker) for _ in range(min(concurrency, len(urls)))])
    return progress


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET after the server's delay, like a slow remote site."""

    def do_GET(self):
        time.sleep(self.server.delay)  # cooperative: patched by patch_all()
        body = f"hello from {self.path}\n".encode() * 10
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # keep the demo's output to the fetch results


class GreenletHTTPServer(http.server.HTTPServer):
    """The stdlib's HTTPServer, one greenlet per request instead of one thread."""

    request_queue_size = 1024  # many clients connect at once; the default (5) drops SYNs

    def __init__(self, address, delay):
        super().__init__(address, SlowHandler)
        self.delay = delay

    def process_request(self, request, client_address):
        hub.spawn(self._handle, request, client_address)

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


def demo(args):
    server = GreenletHTTPServer(("127.0.0.1", 0), args.delay)
    serving = hub.spawn(server.serve_forever, 0.5)
    host, port = server.server_address[:2]
    urls = [f"http://{host}:{port}/item/{i}" for i in range(1, args.count + 1)]
    print(f"Local server on http://{host}:{port}/ answering after {args.delay} s", flush=True)
    try:
        print(f"\nFetching {len(urls)} URLs one after another:", flush=True)
        started = time.monotonic()
        sequential = fetch_in_sequence(urls, args.timeout)
        sequential_time = time.monotonic() - started

        print(f"\nFetching {len(urls)} URLs concurrently ({args.concurrency} at a time):")
        started = time.monotonic()
        concurrent = fetch_concurrently(urls, args.timeout, args.concurrency)
        concurrent_time = time.monotonic() - started
    finally:
        serving.kill()
        server.server_close()

    print(f"\nsequential total: {sequential_time:.2f} s")
    print(f"concurrent total: {concurrent_time:.2f} s")
    if concurrent_time > 0:
        print(f"speed-up: {sequential_time / concurrent_time:.1f}x")
    return sequential.failed + concurrent.failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="*", help="URLs to fetch (none: run the local demo)")
    parser.add_argument("--count", type=int, default=20, help="demo: URLs to fetch (20)")
    parser.add_argument("--concurrency", type=int, default=100, help="fetches at once (100)")
    parser.add_argument("--delay", type=float, default=0.25, help="demo: server delay (0.25 s)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request (10 s)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be at least 1")

    if not args.urls:
        failures = demo(args)
    else:
        print(f"Fetching {len(args.urls)} URLs concurrently ({args.concurrency} at a time):")
        started = time.monotonic()
        progress = fetch_concurrently(args.urls, args.timeout, args.concurrency)
        print(f"\ntotal: {time.monotonic() - started:.2f} s, {progress.failed} failed")
        failures = progress.failed
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
