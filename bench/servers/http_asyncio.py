"""The minimal HTTP/1.1 keep-alive responder of http_sync.py, written for asyncio streams.

    python http_asyncio.py asyncio|uvloop

Prints ``LISTENING <port>`` when it accepts connections; runs until killed.
"""

import asyncio
import sys

from _http import END, RESPONSE
from echo_asyncio import new_loop


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer each request read from the connection until the peer closes."""
    pending = b""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            pending += data
            count = pending.count(END)
            if count:
                pending = pending[pending.rfind(END) + len(END) :]
                writer.write(RESPONSE * count)
                await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def serve() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


def main() -> None:
    loop = new_loop(sys.argv[1])
    asyncio.set_event_loop(loop)
    loop.run_until_complete(serve())


if __name__ == "__main__":
    main()
