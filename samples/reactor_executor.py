"""The book's ch08 reactor-executor: five requests spawned as tasks of their own.

``spawn`` hands each request to the executor, which polls whichever task its waker woke; the
reactor wakes a task when its socket is ready. Request i asks for i * step milliseconds, so
the responses print in delay order. In the book the executor runs until every task is done;
here ``run`` stops when ``async_main`` does, so ``async_main`` waits for its JoinHandles.
Run: ``corofy run samples/reactor_executor.py [--step MS] [--server HOST:PORT]``.
"""

from corofy import coroutine, wait
from runtime import spawn
from runtime.http import Http

import support


@coroutine
def request(base: str, i: int, step: int) -> None:
    path = f"/{i * step}/HelloWorld{i}"
    txt = wait(Http.get(base + path)).text
    print(txt)


@coroutine
def async_main(base: str, step: int = 1000) -> None:
    print("Program starting")
    handles = []
    for i in range(5):
        future = request(base, i, step)
        handles.append(spawn(future))
    for handle in handles:
        wait(handle)


if __name__ == "__main__":
    parser = support.parser(__doc__)
    parser.add_argument(
        "--step", type=int, default=1000, help="ms between delays (default: %(default)s)"
    )
    args = parser.parse_args()
    support.run_sample(args.server, lambda base: async_main(base, args.step))
