"""asyncio both ways (SPEC §3): from_asyncio / to_asyncio against real asyncio code.

The corofy coroutines here go through the build-free ``@coroutine``; the asyncio side is
asyncio's own streams, ``asyncio.gather`` and tasks, and httpx's AsyncClient from PyPI.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from runtime_helpers import open_fds

import runtime
from corofy import coroutine, wait
from runtime.net import TcpListener, TcpStream


class Boom(Exception):
    pass


def threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


@pytest.fixture
def nothing_left_behind():
    """The test leaves no new fd open and no new thread running."""
    fds, names = open_fds(), threads()
    yield
    assert open_fds() - fds == set()
    assert threads() - names == set()


# -- corofy waits on asyncio ----------------------------------------------------------------


def test_corofy_reads_and_writes_through_asyncio_streams(nothing_left_behind) -> None:
    """A corofy coroutine talks to a corofy TCP echo server through asyncio.open_connection."""

    @coroutine
    def echo_once(listener: TcpListener) -> None:
        stream, _ = wait(listener.accept())
        data = wait(stream.read(100))
        wait(stream.write_all(data.upper()))
        stream.close()

    async def client(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello from asyncio")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        return answer

    @coroutine
    def main() -> bytes:
        with TcpListener.bind("127.0.0.1", 0) as listener:
            server = runtime.spawn(echo_once(listener))
            answer = wait(runtime.from_asyncio(client(listener.local_addr[1])))
            wait(server)
        return answer

    assert runtime.run(main()) == b"HELLO FROM ASYNCIO"


def test_an_exception_from_asyncio_reaches_corofy_with_its_type() -> None:
    async def fails() -> None:
        await asyncio.sleep(0)
        raise Boom("asyncio side")

    @coroutine
    def main() -> str:
        try:
            wait(runtime.from_asyncio(fails()))
        except Boom as exc:
            return f"caught {exc}"
        return "not raised"

    assert runtime.run(main()) == "caught asyncio side"


def test_closing_the_corofy_side_cancels_the_asyncio_task(nothing_left_behind) -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    @coroutine
    def main() -> None:
        wait(runtime.timeout(runtime.from_asyncio(slow()), 0.05))

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        runtime.run(main())
    assert time.monotonic() - started < 5
    assert cancelled.wait(5), "the asyncio task was not cancelled"


def test_an_asyncio_future_is_awaited_on_its_own_loop() -> None:
    """A Future belongs to one loop: from_asyncio waits on it there, not on another loop."""

    async def amain() -> int:
        loop = asyncio.get_running_loop()
        made = loop.create_future()
        loop.call_later(0.02, made.set_result, 42)

        @coroutine
        def waits_on_it() -> int:
            return wait(runtime.from_asyncio(made)) + 1

        return await runtime.to_asyncio(waits_on_it())

    assert asyncio.run(amain()) == 43


@coroutine
def answer_after_delay(stream: TcpStream) -> None:
    """GET /MS/TEXT: TEXT after MS milliseconds (the delay server's protocol)."""
    head = b""
    while b"\r\n\r\n" not in head:
        head += wait(stream.read(4096))
    _, ms, text = head.split(b" ")[1].split(b"/")
    wait(runtime.sleep(int(ms) / 1000))
    wait(stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(text), text)))
    stream.close()


@coroutine
def serve_delays(listener: TcpListener) -> None:
    while True:
        stream, _ = wait(listener.accept())
        runtime.spawn(answer_after_delay(stream))


def test_an_httpx_client_is_waited_from_a_corofy_coroutine(nothing_left_behind) -> None:
    """A third-party asyncio client (httpx) against a corofy server on 127.0.0.1."""
    httpx = pytest.importorskip("httpx")

    async def get(url: str) -> tuple[int, str]:
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
            return response.status_code, response.text

    @coroutine
    def main() -> list[tuple[int, str]]:
        with TcpListener.bind("127.0.0.1", 0) as listener:
            port = listener.local_addr[1]
            server = runtime.spawn(serve_delays(listener))
            answers = wait(
                runtime.join_all(
                    [
                        runtime.from_asyncio(get(f"http://127.0.0.1:{port}/{ms}/hi{ms}"))
                        for ms in (150, 50)
                    ]
                )
            )
            server.abort()
        return answers

    started = time.monotonic()
    assert runtime.run(main()) == [(200, "hi150"), (200, "hi50")]
    assert time.monotonic() - started < 3


# -- asyncio awaits corofy -------------------------------------------------------------------


@coroutine
def double_later(value: int, seconds: float) -> int:
    wait(runtime.sleep(seconds))
    return value * 2


def test_a_corofy_coroutine_runs_inside_asyncio_gather_with_asyncio_tasks(
    nothing_left_behind,
) -> None:
    order: list[str] = []

    async def asyncio_side(value: int, seconds: float) -> int:
        await asyncio.sleep(seconds)
        order.append(f"asyncio {value}")
        return value

    @coroutine
    def corofy_side(value: int, seconds: float) -> int:
        wait(runtime.sleep(seconds))
        order.append(f"corofy {value}")
        return value

    async def amain() -> list[int]:
        return await asyncio.gather(
            runtime.to_asyncio(corofy_side(1, 0.2)),
            asyncio.create_task(asyncio_side(2, 0.1)),
            runtime.to_asyncio(double_later(3, 0.15)),
            asyncio_side(4, 0.25),
        )

    started = time.monotonic()
    assert asyncio.run(amain()) == [1, 2, 6, 4]
    assert order == ["asyncio 2", "corofy 1", "asyncio 4"]
    assert time.monotonic() - started < 1.0  # concurrent: near the longest, not the sum


def test_corofy_writes_to_an_asyncio_stream_server(nothing_left_behind) -> None:
    """asyncio.start_server's handler answers a corofy TcpStream, awaited from asyncio."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        writer.write(b"asyncio got " + line)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    @coroutine
    def talk(port: int) -> bytes:
        stream = wait(TcpStream.connect("127.0.0.1", port))
        wait(stream.write_all(b"corofy\n"))
        answer = b""
        while chunk := wait(stream.read(100)):
            answer += chunk
        stream.close()
        return answer

    async def amain() -> bytes:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            return await runtime.to_asyncio(talk(port))

    assert asyncio.run(amain()) == b"asyncio got corofy\n"


def test_an_exception_from_corofy_reaches_asyncio_with_its_type() -> None:
    @coroutine
    def fails() -> None:
        wait(runtime.sleep(0))
        raise Boom("corofy side")

    async def amain() -> None:
        await runtime.to_asyncio(fails())

    with pytest.raises(Boom, match="corofy side"):
        asyncio.run(amain())


def test_cancelling_the_asyncio_side_closes_the_corofy_coroutine(nothing_left_behind) -> None:
    started, closed = threading.Event(), threading.Event()

    @coroutine
    def slow() -> None:
        try:
            started.set()
            wait(runtime.sleep(30))
        finally:
            closed.set()

    async def amain() -> None:
        waiting = asyncio.ensure_future(runtime.to_asyncio(slow()))
        # A coroutine closed before its first poll has entered no try, so has no finally to
        # run: cancel only once it runs (a loaded machine can take longer than the timeout).
        assert await asyncio.to_thread(started.wait, 5), "the corofy coroutine did not start"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(waiting, 0.05)
        assert await asyncio.to_thread(closed.wait, 5), "the corofy finally did not run"

    asyncio.run(amain())


def test_corofy_inside_asyncio_waits_on_that_loops_streams() -> None:
    """Both ways nested: asyncio -> corofy -> asyncio, the streams on the caller's loop."""

    async def amain() -> bytes:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.read(5))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        @coroutine
        def uses_the_stream() -> bytes:
            writer.write(b"12345")
            wait(runtime.from_asyncio(writer.drain()))
            return wait(runtime.from_asyncio(reader.read(5)))

        try:
            return await runtime.to_asyncio(uses_the_stream())
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    assert asyncio.run(amain()) == b"12345"


def test_run_inside_a_running_asyncio_loop_names_the_bridge() -> None:
    async def amain() -> None:
        future = double_later(1, 0)
        try:
            runtime.run(future)
        finally:
            future.close()

    with pytest.raises(RuntimeError, match=r"asyncio event loop.*runtime\.to_asyncio"):
        asyncio.run(amain())


@pytest.mark.parametrize("direction", ["from_asyncio", "to_asyncio"])
def test_an_idle_bridge_uses_no_cpu(direction: str) -> None:
    """Half a second of waiting across the bridge costs far less than half a second of CPU."""

    @coroutine
    def waits_on_asyncio() -> None:
        wait(runtime.from_asyncio(asyncio.sleep(0.5)))

    async def awaits_corofy() -> None:
        await runtime.to_asyncio(runtime.sleep(0.5))

    started, cpu = time.monotonic(), time.process_time()
    if direction == "from_asyncio":
        runtime.run(waits_on_asyncio())
    else:
        asyncio.run(awaits_corofy())
    assert time.monotonic() - started >= 0.5
    assert time.process_time() - cpu < 0.15
