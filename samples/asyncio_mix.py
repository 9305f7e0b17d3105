"""corofy and asyncio in one program: each side waits on the other.

Part 1, corofy waits on asyncio: a corofy coroutine sends two requests at once, one with
corofy's ``Http.get`` and one with asyncio's streams, waited through ``runtime.from_asyncio``.
Part 2, asyncio awaits corofy: ``asyncio.gather`` runs a corofy coroutine (through
``runtime.to_asyncio``) beside an asyncio task; the delay server itself is a corofy task that
asyncio cancels when it is done.
Run: ``corofy run samples/asyncio_mix.py [--server HOST:PORT]``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import support
from delayserver import serve

import runtime
from corofy import coroutine, wait
from runtime.http import Http
from runtime.net import TcpListener


async def asyncio_get(base: str, path: str) -> str:
    """GET ``base + path`` with asyncio's own streams; the body as text."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return response.partition(b"\r\n\r\n")[2].decode()


@coroutine
def corofy_waits_on_asyncio(base: str) -> None:
    print("Part 1: corofy waits on asyncio")
    # Futures of a Response and of a str: join_all gives a list of both kinds.
    requests: list[runtime.Future[Any]] = [
        Http.get(f"{base}/400/FromCorofyHttpGet"),
        runtime.from_asyncio(asyncio_get(base, "/200/FromAsyncioStreams")),
    ]
    texts = wait(runtime.join_all(requests))
    print(texts[0].text)
    print(texts[1])


@coroutine
def corofy_request(base: str) -> str:
    return wait(Http.get(f"{base}/300/CorofyInsideGather")).text


async def asyncio_awaits_corofy(server: tuple[str, int] | None) -> None:
    print("Part 2: asyncio gathers corofy")
    serving = None
    if server is None:  # the delay server is a corofy coroutine: asyncio runs it too
        listener = TcpListener.bind("127.0.0.1", 0)
        host, port = listener.local_addr[:2]
        serving = asyncio.ensure_future(runtime.to_asyncio(serve(listener, log=lambda _: None)))
    else:
        host, port = server
    base = f"http://{host}:{port}"
    try:
        texts = await asyncio.gather(
            runtime.to_asyncio(corofy_request(base)),
            asyncio.create_task(asyncio_get(base, "/100/AsyncioTask")),
        )
        print(", ".join(texts))
    finally:
        if serving is not None:
            serving.cancel()  # aborts the corofy server task: its `with` closes the listener
            await asyncio.gather(serving, return_exceptions=True)


if __name__ == "__main__":
    args = support.parser(__doc__).parse_args()
    support.run_sample(args.server, corofy_waits_on_asyncio)
    started = time.perf_counter()
    asyncio.run(asyncio_awaits_corofy(args.server))
    print(f"Finished in {time.perf_counter() - started:.2f} s")
