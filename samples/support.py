"""What the book's samples share: their command line and the delay server they embed.

Each sample's ``async_main(base, ...)`` talks to a delay server at the URL ``base``. With
``--server HOST:PORT`` that is an external one; without, `with_delay_server` starts the
sample's own on a free port, in the same runtime, and stops it when the sample is done.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from corofy import coroutine, wait
from runtime import Future, run, spawn
from runtime.net import TcpListener

from delayserver import serve

T = TypeVar("T")


def server_address(text: str) -> tuple[str, int]:
    """Parse ``HOST:PORT`` (an argparse type)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser taking ``--server``, described by the first paragraph of `doc`."""
    description = (doc or "").split("\n\n", 1)[0]
    result = argparse.ArgumentParser(description=description)
    result.add_argument(
        "--server",
        type=server_address,
        metavar="HOST:PORT",
        help="an external delay server to use (default: start one on a free port)",
    )
    return result


def _log_to_stderr(line: str) -> None:
    # One write per line: print() writes the newline separately, and executor threads print too.
    sys.stderr.write(f"{line}\n")


@coroutine
def with_delay_server(server: tuple[str, int] | None, body: Callable[[str], Future[T]]) -> T:
    """Wait `body(base_url)` against `server`, or against a delay server started here."""
    if server is not None:
        return wait(body(f"http://{server[0]}:{server[1]}"))
    with TcpListener.bind("127.0.0.1", 0) as listener:
        host, port = listener.local_addr[:2]
        serving = spawn(serve(listener, log=_log_to_stderr))
        result = wait(body(f"http://{host}:{port}"))
        serving.abort()  # on an exception, run() closes the server task along with the others
    return result


def run_sample(server: tuple[str, int] | None, body: Callable[[str], Future[T]]) -> T:
    """Run a sample's main coroutine to completion and say how long it took.

    The time is the point of the concurrent samples: it is near the longest delay, not the sum.
    """
    started = time.perf_counter()
    result = run(with_delay_server(server, body))
    print(f"Finished in {time.perf_counter() - started:.2f} s")
    return result
