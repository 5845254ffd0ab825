"""User-space instructions per echoed message, counted by callgrind: the A/B figure for socket work.

    python bench/callgrind_echo.py [--toolkits greenpatch,gevent] [--conns 10] [--size 64]
                                   [--messages 2000,10000] [--python PATH] [--monitor]

Wall-clock rates are noisy on a shared machine; an instruction count is not. For each toolkit this
runs the same in-process ping-pong under ``valgrind --tool=callgrind`` twice, with two message
counts, and reports the difference in instructions divided by the difference in messages, so
interpreter start-up, imports and connection set-up cancel out. A message is one round trip on one
connection: the client greenlet's ``sendall`` and ``recv`` and the server handler's ``recv`` and
``sendall`` (the handler is bench/servers/echo_sync.py's), all in one process and one hub.

The child (``--child TOOLKIT MESSAGES``) patches the stdlib with bench/servers/_toolkit.py's
``use()``, exactly as the echo server does. Use a Python that has the toolkits installed
(``.venv-bench``) and ``PYTHONPATH`` pointing at the greenpatch tree to measure.

``--monitor`` runs each toolkit with its blocking monitor on (0.1 s): greenpatch's through
GREENPATCH_MAX_BLOCKING_TIME, gevent's through GEVENT_MONITOR_THREAD_ENABLE. Under valgrind the
program runs some 50 times slower while the watchdogs still wake by the wall clock, so this
overstates what their periodic wake-ups cost per message; what it shows exactly is any cost paid
per switch. The figure is split by thread when helper threads ran: the main thread's (the
hub's, paid per message) and the helper threads' (the watchdog's, paid per second, overstated).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def child(toolkit: str, messages: int, conns: int, size: int) -> None:
    sys.path.insert(0, os.path.join(HERE, "servers"))
    from _toolkit import use

    spawn, joinall = use(toolkit)
    import socket  # after patching, as the echo server does

    def handle(conn: socket.socket) -> None:
        # The loop of bench/servers/echo_sync.py.
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(conns)
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(conns):
            conn, _ = listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            spawn(handle, conn)

    payload = b"x" * size
    per_conn = messages // conns

    def client() -> None:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(per_conn):
            s.sendall(payload)
            got = s.recv(65536)
            while len(got) < size:
                got += s.recv(65536)
        s.close()

    server = spawn(serve)
    joinall([spawn(client) for _ in range(conns)])
    joinall([server])
    listener.close()


_MONITOR_ENV = {
    "GREENPATCH_MAX_BLOCKING_TIME": "0.1",
    "GEVENT_MONITOR_THREAD_ENABLE": "1",
    "GEVENT_MAX_BLOCKING_TIME": "0.1",
}


def callgrind(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``cmd`` under callgrind: (total instructions, its stdout). bench/callgrind_micro.py
    uses it too."""
    per_thread, stdout = callgrind_threads(cmd, env)
    return sum(per_thread), stdout


def callgrind_threads(cmd: list[str], env: dict[str, str]) -> tuple[list[int], str]:
    """Run ``cmd`` under callgrind: (instructions of each thread, the main thread first; its
    stdout).

    The main thread runs the hub in these benchmarks, so its count is the price paid per
    operation; a helper thread's (the blocking monitor's watchdog) is paid per second of wall
    clock, which valgrind stretches some 50 times: counted per operation it is overstated.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        full = [
            "valgrind",
            "--tool=callgrind",
            "--separate-threads=yes",
            f"--callgrind-out-file={out}",
            *cmd,
        ]
        # A fixed hash seed: str hashes decide dict probe lengths, which would add a little noise.
        env = dict(env, PYTHONHASHSEED="0")
        done = subprocess.run(
            full, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
        )
        # One file per thread: callgrind.out-01 (the main thread), -02, ...
        totals = []
        for name in sorted(os.listdir(tmp)):
            with open(os.path.join(tmp, name)) as f:
                for line in f:
                    m = re.match(r"(?:summary|totals):\s+(\d+)", line)
                    if m:
                        totals.append(int(m.group(1)))
                        break
        if not totals:
            raise RuntimeError("no instruction total in callgrind's output")
        return totals, done.stdout


def count(
    python: str, toolkit: str, messages: int, conns: int, size: int, monitor: bool = False
) -> list[int]:
    """Instructions of each thread of one run, the main thread (the hub's) first."""
    cmd = [
        python,
        os.path.abspath(__file__),
        "--child",
        toolkit,
        str(messages),
        "--conns",
        str(conns),
        "--size",
        str(size),
    ]
    env = dict(os.environ)
    if monitor:
        env.update(_MONITOR_ENV)
    return callgrind_threads(cmd, env)[0]


def per_op_text(a: list[int], b: list[int], ops: int, unit: str) -> str:
    """The instructions per operation between runs ``a`` and ``b`` (``ops`` apart), and, when
    helper threads ran, the main thread's share: the part paid per operation."""
    total = (sum(b) - sum(a)) / ops
    text = f"{total:>10,.0f} instructions/{unit}"
    if len(a) > 1 or len(b) > 1:
        main = (b[0] - a[0]) / ops
        text += f" (main thread {main:,.0f}, helper threads {total - main:,.0f})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toolkits", default="greenpatch,gevent")
    parser.add_argument("--conns", type=int, default=10)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--messages", default="2000,10000", help="the two message counts")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--monitor", action="store_true", help="with the blocking monitor on")
    parser.add_argument("--child", nargs=2, metavar=("TOOLKIT", "MESSAGES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.conns, args.size)
        return
    low, high = (int(n) for n in args.messages.split(","))
    monitored = ", blocking monitor on" if args.monitor else ""
    print(f"echo ping-pong, {args.conns} connections x {args.size} B, in one process{monitored}")
    for toolkit in args.toolkits.split(","):
        a = count(args.python, toolkit, low, args.conns, args.size, args.monitor)
        b = count(args.python, toolkit, high, args.conns, args.size, args.monitor)
        print(f"  {toolkit:<12} {per_op_text(a, b, high - low, 'message')}", flush=True)


if __name__ == "__main__":
    main()
