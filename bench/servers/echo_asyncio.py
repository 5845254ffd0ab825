"""The echo server written for asyncio streams: one task per connection.

    python echo_asyncio.py asyncio|uvloop [CERTFILE KEYFILE]

asyncio cannot run the blocking stdlib-socket source, so this is the same program in its own
idiom: read what is there, write it back, until EOF. ``uvloop`` runs the very same code on
uvloop's event loop. With a certificate and key it serves TLS (asyncio does the handshake per
connection).

Prints ``LISTENING <port>`` (an ephemeral port on 127.0.0.1) when it accepts connections; runs
until killed.
"""

import asyncio
import ssl
import sys


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo everything until the peer closes."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass  # a reset from the load generator ends the connection, nothing more
    finally:
        writer.close()


async def serve(tls: ssl.SSLContext | None) -> None:
    # Streams set TCP_NODELAY on accepted sockets themselves.
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096, ssl=tls)
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


def new_loop(name: str) -> asyncio.AbstractEventLoop:
    """A fresh event loop of the requested kind."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    if name == "asyncio":
        return asyncio.new_event_loop()
    raise SystemExit(f"unknown toolkit {name!r}")


def main() -> None:
    tls = None
    if len(sys.argv) == 4:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[2], sys.argv[3])
    loop = new_loop(sys.argv[1])
    asyncio.set_event_loop(loop)
    loop.run_until_complete(serve(tls))


if __name__ == "__main__":
    main()
