"""An interactive client for the echo server: each line you type comes back from the server.

    python samples/echo_client.py [--host 127.0.0.1] [--port 8001]

End with an empty line or Ctrl-D.
"""

import monkeypatch

monkeypatch.patch_all()

import argparse  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    with socket.create_connection((args.host, args.port), timeout=10) as conn:
        replies = conn.makefile("rb")
        print(f"connected to {args.host}:{args.port}; type lines, an empty line ends", flush=True)
        for line in sys.stdin:
            if not line.strip():
                break
            conn.sendall(line.encode())
            echoed = replies.readline()
            if not echoed:
                print("server closed the connection")
                return 1
            print(f"echo: {echoed.decode().rstrip()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
