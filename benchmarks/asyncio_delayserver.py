"""The delay server written with asyncio streams: the peer that bench_delayserver.py measures.

It answers exactly as ``samples/delayserver.py`` does because it uses that module's own
``route`` and ``response``; only the concurrency machinery differs (asyncio tasks and
streams, or uvloop's loop under them, in place of corofy state machines on ``runtime``).

    python benchmarks/asyncio_delayserver.py [--host H] [--port P] [--uvloop]

``delayserver`` is imported from ``PYTHONPATH`` first (bench_delayserver.py points it at a
tree transformed by ``corofy``), else from ``samples/`` through corofy's decorator.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent / "samples"))
from delayserver import HEAD_TIMEOUT, MAX_HEAD, response, route


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: Iterator[int]
) -> None:
    try:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return  # left before finishing the request
        except asyncio.LimitOverrunError:
            head = await reader.read(MAX_HEAD + 1)  # what overran: route answers it with 431
        except TimeoutError:
            head = None
        if head is None:
            status, delay_ms, body = HTTPStatus.REQUEST_TIMEOUT, 0, "the request came too slowly"
        else:
            status, delay_ms, body = route(head)
        if status == HTTPStatus.OK:
            print(f"#{next(counter)} - {delay_ms}ms: {body}")
            await asyncio.sleep(delay_ms / 1000)
        writer.write(response(status, body))
        await writer.drain()
    except OSError:
        pass  # the client left early
    finally:
        writer.close()


async def serve(host: str, port: int) -> None:
    counter = itertools.count(1)
    # The backlog runtime.net's TcpListener.bind uses, so both queue the same connections.
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, counter), host, port, limit=MAX_HEAD, backlog=1024
    )
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    print(f"Delay server listening on http://{bound_host}:{bound_port}", flush=True)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    main_coro = serve(args.host, args.port)
    try:
        if args.uvloop:
            import uvloop

            uvloop.run(main_coro)
        else:
            asyncio.run(main_coro)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
