"""The book's ch07 c-async-await: five requests at once, joined with join_all.

Request i asks for a delay of i * step milliseconds (step is 1000 in the book). All five are
in flight together, so the responses arrive in delay order and the run takes about the
longest delay, not the sum.
Run: ``corofy run samples/c_async_await.py [--step MS] [--server HOST:PORT]``.
"""

from corofy import coroutine, wait
from runtime import join_all
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
    futures = []
    for i in range(5):
        futures.append(request(base, i, step))
    wait(join_all(futures))


if __name__ == "__main__":
    parser = support.parser(__doc__)
    parser.add_argument(
        "--step", type=int, default=1000, help="ms between delays (default: %(default)s)"
    )
    args = parser.parse_args()
    support.run_sample(args.server, lambda base: async_main(base, args.step))
