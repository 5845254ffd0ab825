"""How long parsing one request head takes: hub._http against h11 and httptools.

    python bench/http_parse.py [--number 20000]

Each parser gets the same two requests (wrk's minimal GET, and a browser-like GET with a dozen
headers) and produces what hub.wsgi needs: method, target, version and the header list. The
figure is microseconds per request, the best of five runs. hub.wsgi uses the fastest of them
(see docs/servers.md for the figures and the choice).
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hub._http import parse_head

WRK = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
BROWSER = (
    b"GET /search?q=greenlets&lang=en HTTP/1.1\r\n"
    b"Host: www.example.org\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Referer: https://www.example.org/\r\n"
    b"Connection: keep-alive\r\n"
    b"Cookie: session=0123456789abcdef; theme=dark\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n"
    b"Sec-Fetch-Dest: document\r\n"
    b"Sec-Fetch-Mode: navigate\r\n"
    b"Sec-Fetch-Site: same-origin\r\n"
    b"\r\n"
)


def ours(data: bytes) -> object:
    end = data.find(b"\r\n\r\n")
    return parse_head(data[:end])


def h11_parser() -> object:
    import h11

    def parse(data: bytes) -> object:
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(data)
        return conn.next_event()

    return parse


def httptools_parser() -> object:
    import httptools

    class Proto:
        def __init__(self) -> None:
            self.headers: list[tuple[bytes, bytes]] = []
            self.url = b""

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name, value))

    def parse(data: bytes) -> object:
        proto = Proto()
        p = httptools.HttpRequestParser(proto)
        p.feed_data(data)
        return p.get_method(), proto.url, p.get_http_version(), proto.headers

    return parse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--number", type=int, default=20000)
    args = ap.parse_args()
    parsers = {"hub._http": ours}
    for name, make in (("h11", h11_parser), ("httptools", httptools_parser)):
        try:
            parsers[name] = make()  # type: ignore[assignment]
        except ImportError:
            print(f"{name}: not installed")
    for label, data in (("wrk GET", WRK), ("browser GET", BROWSER)):
        for name, parse in parsers.items():
            best = min(timeit.repeat(lambda: parse(data), number=args.number, repeat=5))  # noqa: B023
            print(f"{label:12} {name:10} {best / args.number * 1e6:7.2f} us")


if __name__ == "__main__":
    main()
