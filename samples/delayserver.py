"""The book's delay server, written as corofy source on `runtime`.

``GET /{delay_ms}/{message}`` answers with the URL-decoded message after ``delay_ms``
milliseconds (HTTP/1.1, Content-Length, ``Connection: close``) and prints
``#{n} - {delay_ms}ms: {message}`` when the request arrives, n counting requests from 1.
Other requests get an error answer (400, 404, 405, 408 or 431), never a crash, and a client
that leaves early ends only its own request.

Run it with ``corofy run samples/delayserver.py --port 8080``, or transformed:
``corofy samples -o build/samples && python3 build/samples/delayserver.py``.
Samples embed it with ``spawn(serve(TcpListener.bind("127.0.0.1", 0)))``.
"""

from __future__ import annotations

import argparse
import io
import itertools
import re
import sys
from collections.abc import Callable, Iterator
from http import HTTPStatus
from urllib.parse import unquote

from corofy import coroutine, wait
from runtime import run, sleep, spawn, timeout
from runtime.net import TcpListener, TcpStream

MAX_HEAD = 8192  # bytes of request line and headers we accept before answering 431
MAX_DELAY_MS = 3_600_000  # an hour; beyond it a delay is surely a typo
READ_SIZE = 4096
HEAD_TIMEOUT = 10.0  # seconds from accepting a connection to the end of its request head
ACCEPT_BACKOFF = 0.05  # seconds to pause when accept() fails, e.g. out of file descriptors
LINGER_BYTES = 256 * 1024  # what we still read and drop after answering a head cut short
LINGER_SECONDS = 2.0  # ... and for how long at most

_ROUTE = re.compile(r"/([^/]*)/([^/]*)")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: int() would also take "٣" and "1_000"


def route(head: bytes) -> tuple[HTTPStatus, int, str]:
    """Answer a request head, as `read_head` returned it, with (status, delay in ms, body).

    Only ``GET /{delay_ms}/{message}`` is OK. The request line is decoded as Latin-1, which
    maps every byte, so no request can make decoding fail; the message is percent-decoded as
    UTF-8, with U+FFFD for bytes that are not.
    """
    end = head.find(b"\r\n\r\n")
    if end < 0 or end + 4 > MAX_HEAD:
        return (
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
            0,
            f"keep the request head under {MAX_HEAD} bytes",
        )
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return (
            HTTPStatus.BAD_REQUEST,
            0,
            "expected a request line: GET /{delay_ms}/{message} HTTP/1.1",
        )
    method, target, _version = parts
    if method != "GET":
        return HTTPStatus.METHOD_NOT_ALLOWED, 0, "only GET is served"
    path = target.split("?", 1)[0].split("#", 1)[0]
    match = _ROUTE.fullmatch(path)
    if match is None:
        return HTTPStatus.NOT_FOUND, 0, "no such path; ask for /{delay_ms}/{message}"
    delay, message = match.groups()
    if not _DIGITS.fullmatch(delay) or int(delay) > MAX_DELAY_MS:
        return HTTPStatus.BAD_REQUEST, 0, f"delay must be 0..{MAX_DELAY_MS} milliseconds"
    return HTTPStatus.OK, int(delay), unquote(message, errors="replace")


def response(status: HTTPStatus, body: str) -> bytes:
    """The whole HTTP/1.1 response, head and body, in one buffer for one write."""
    payload = body.encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + payload


@coroutine
def read_head(stream: TcpStream) -> bytes:
    """Read up to the blank line that ends a request head, or to EOF, or past MAX_HEAD bytes."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) <= MAX_HEAD:
        chunk = wait(stream.read(READ_SIZE))
        if not chunk:
            break
        head += chunk
    return head


# Facts the handler depends on:
# - TimeoutError is a subclass of OSError, so the inner try must take it before the outer
#   `except OSError` would treat a slow client as one that left.
# - A write to a peer that has gone raises EPIPE or ECONNRESET, both OSError: Python ignores
#   SIGPIPE at start-up, so a leaving client is an exception here, not a signal that kills us.
# - close() on a socket whose receive buffer still holds data sends RST, not FIN, and the RST
#   destroys our answer at the client if it arrives before the client read it. When we stop
#   reading before the client's head ended (431, 408), the client is likely still sending: so
#   after the answer we shut down writing (the client sees our FIN after the answer) and read
#   and drop what it sends until its EOF, bounded in bytes and time (`linger`), then close.
#   Reading everything a client sends would let it keep us reading for ever.
@coroutine
def drain(stream: TcpStream) -> None:
    """Read and drop what the client still sends, until its EOF or LINGER_BYTES."""
    left = LINGER_BYTES
    while left > 0:
        chunk = wait(stream.read(READ_SIZE))
        if not chunk:
            return
        left -= len(chunk)


@coroutine
def linger(stream: TcpStream) -> None:
    """Close gracefully after an answer sent while the client may still be sending."""
    stream.shutdown_write()
    try:
        wait(timeout(drain(stream), LINGER_SECONDS))
    except TimeoutError:
        pass  # the client neither finished nor left: close anyway (it may see a reset)


_CUT_SHORT = (HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, HTTPStatus.REQUEST_TIMEOUT)


@coroutine
def handle(
    stream: TcpStream, counter: Iterator[int], log: Callable[[str], object], head_timeout: float
) -> None:
    """Answer the one request on `stream`, then close it."""
    try:
        try:
            head = wait(timeout(read_head(stream), head_timeout))
        except TimeoutError:  # a silent or slow client must not hold a descriptor for ever
            status, delay_ms, body = HTTPStatus.REQUEST_TIMEOUT, 0, "the request came too slowly"
        else:
            if b"\r\n\r\n" not in head and len(head) <= MAX_HEAD:
                return  # the client left before finishing its request: nobody to answer
            status, delay_ms, body = route(head)
        if status == HTTPStatus.OK:
            log(f"#{next(counter)} - {delay_ms}ms: {body}")
            wait(sleep(delay_ms / 1000))
        wait(stream.write_all(response(status, body)))
        if status in _CUT_SHORT:
            wait(linger(stream))
    except OSError:
        pass  # reset or broken pipe: the client left early, which ends this request only
    finally:
        stream.close()  # also when the task is closed, e.g. when run() ends


@coroutine
def serve(
    listener: TcpListener,
    log: Callable[[str], object] = print,
    head_timeout: float = HEAD_TIMEOUT,
) -> None:
    """Serve delay requests on `listener` forever, each connection in a task of its own.

    `log` receives one line per request as it arrives; samples that embed the server pass
    a logger writing to stderr, so their own output stays on stdout. A client that has not
    sent its whole request head `head_timeout` seconds after connecting gets 408.
    """
    counter = itertools.count(1)  # shared by the connection tasks; next() is atomic in CPython
    while True:
        try:
            stream, _peer = wait(listener.accept())
        except OSError as error:
            # EMFILE and friends: the pending connection stays queued, so retrying at once
            # would spin. Pause, and let the connections we hold finish and free descriptors.
            print(f"delayserver: accept failed: {error}", file=sys.stderr)
            wait(sleep(ACCEPT_BACKOFF))
            continue
        spawn(handle(stream, counter, log, head_timeout))


@coroutine
def serve_at(host: str, port: int, head_timeout: float = HEAD_TIMEOUT) -> None:
    """Bind `host`:`port` (0 picks a free port), say where, and serve there forever."""
    with TcpListener.bind(host, port) as listener:  # closed also when run() closes this task
        bound_host, bound_port = listener.local_addr[:2]
        print(f"Delay server listening on http://{bound_host}:{bound_port}")
        wait(serve(listener, head_timeout=head_timeout))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="0 picks a free port (default: %(default)s)"
    )
    parser.add_argument(
        "--head-timeout",
        type=float,
        default=HEAD_TIMEOUT,
        metavar="SECONDS",
        help="answer 408 to a client that takes longer to send its request (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    # One line per request, seen as it happens even when stdout is a pipe or a file.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        run(serve_at(args.host, args.port, args.head_timeout))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
