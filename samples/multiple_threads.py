"""The book's ch08 d-multiple-threads: executors on several threads sharing one reactor.

Every thread runs an Executor of its own on ``async_main``, which spawns five requests
(request i asks for i * step milliseconds). All the sockets are registered with the one
shared reactor, which wakes each task on the executor that owns it — each response is printed
by the thread that sent its request.
Run: ``corofy run samples/multiple_threads.py [--threads N] [--step MS] [--server HOST:PORT]``.
"""

from __future__ import annotations

import sys
import threading

from corofy import coroutine, wait
from runtime import Executor, spawn, spawn_blocking
from runtime.http import Http

import support


def say(text: str) -> None:
    """Print `text` after the name of the executor thread saying it.

    One write per line: print() writes the text and the newline separately, so lines from
    several threads could interleave.
    """
    sys.stdout.write(f"{threading.current_thread().name}: {text}\n")


@coroutine
def request(base: str, i: int, step: int) -> None:
    path = f"/{i * step}/HelloWorld{i}"
    txt = wait(Http.get(base + path)).text
    say(txt)


@coroutine
def async_main(base: str, step: int = 1000) -> None:
    say("Program starting")
    handles = []
    for i in range(5):
        handles.append(spawn(request(base, i, step)))
    for handle in handles:
        wait(handle)


class ExecutorThread(threading.Thread):
    """A thread that runs ``async_main`` on an Executor of its own and keeps its failure."""

    def __init__(self, name: str, base: str, step: int) -> None:
        super().__init__(name=name)
        self.base = base
        self.step = step
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            Executor().block_on(async_main(self.base, self.step))
        except BaseException as failure:  # handed to the main thread, which raises it
            self.failure = failure

    def join_or_raise(self) -> None:
        self.join()
        if self.failure is not None:
            raise self.failure


@coroutine
def main(base: str, threads: int, step: int) -> None:
    others = [ExecutorThread(f"exec-{n}", base, step) for n in range(1, threads)]
    for thread in others:
        thread.start()
    wait(async_main(base, step))
    # Joining a thread blocks, so it goes to the blocking pool; meanwhile this executor keeps
    # serving (it may run the embedded delay server the other threads are talking to).
    for thread in others:
        wait(spawn_blocking(thread.join_or_raise))


if __name__ == "__main__":
    threading.current_thread().name = "exec-0"
    parser = support.parser(__doc__)
    parser.add_argument(
        "--threads", type=int, default=4, help="executor threads (default: %(default)s)"
    )
    parser.add_argument(
        "--step", type=int, default=1000, help="ms between delays (default: %(default)s)"
    )
    args = parser.parse_args()
    support.run_sample(args.server, lambda base: main(base, args.threads, args.step))
