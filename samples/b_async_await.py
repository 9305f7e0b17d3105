"""The book's ch07 b-async-await: two requests, one after the other.

``async_main`` waits for the first response before it sends the second request, so the run
takes the sum of the delays (600 ms + 400 ms). Compare it with c_async_await.py.
Run: ``corofy run samples/b_async_await.py [--server HOST:PORT]``.
"""

from corofy import coroutine, wait
from runtime.http import Http

import support


@coroutine
def async_main(base: str) -> None:
    print("Program starting")
    txt = wait(Http.get(f"{base}/600/HelloAsyncAwait")).text
    print(txt)
    txt = wait(Http.get(f"{base}/400/HelloAsyncAwait")).text
    print(txt)


if __name__ == "__main__":
    args = support.parser(__doc__).parse_args()
    support.run_sample(args.server, async_main)
