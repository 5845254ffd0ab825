"""The fetch client: COUNT concurrent urllib downloads, one greenlet (or thread) each.

    python fetch_sync.py TOOLKIT URL COUNT [serial|pool]

After the toolkit line this is the program a user would write to download many pages at once with
the blocking stdlib. Prints one JSON object: the wall time from the first spawn to the last join,
the CPU time this process used meanwhile, and how many downloads failed. ``serial`` downloads one
after another in the main greenlet: its CPU time is what the downloads themselves cost. ``pool``
is the thread-pool spelling of the same program: ``concurrent.futures.ThreadPoolExecutor`` with a
worker per download, ``map``-ed over the URLs (with threading patched, as every green toolkit's
``patch_all()`` does, its workers are greenlets).
"""

import sys

from _toolkit import use

spawn, joinall = use(sys.argv[1])

import concurrent.futures  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402  (after patching, as a user's program would)

# No proxy: the server is on loopback and the environment's proxy settings must not apply.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
errors: list[str] = []


def fetch(url: str) -> None:
    """Download ``url`` to the end; count a failure instead of raising."""
    try:
        with opener.open(url, timeout=60) as response:
            response.read()
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")


def main() -> None:
    url, count = sys.argv[2], int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else ""
    fetch(url)  # warm up: imports, the opener, the first connection
    errors.clear()
    start, cpu_start = time.perf_counter(), time.process_time()
    if mode == "serial":
        for _ in range(count):
            fetch(url)
    elif mode == "pool":
        with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(fetch, [url] * count))
    else:
        joinall([spawn(fetch, url) for _ in range(count)])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    report = {"seconds": seconds, "cpu_seconds": cpu, "count": count, "errors": len(errors)}
    if errors:
        report["first_error"] = errors[0]
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
